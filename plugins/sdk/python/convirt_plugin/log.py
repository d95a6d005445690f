"""Logs as hclog JSON lines on stderr, which the host turns into entries of
the run's log (with their level), as it does for Go plugins."""

import datetime
import json
import logging
import sys

_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error", logging.CRITICAL: "error"}


class HclogFormatter(logging.Formatter):
    """One JSON object per record: @level, @message, @timestamp, @module."""

    def format(self, record):
        entry = {
            "@level": _LEVELS.get(record.levelno, "info"),
            "@message": record.getMessage(),
            "@timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"),
            "@module": record.name,
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def logger(name="plugin"):
    """The SDK's logger, writing hclog JSON to stderr (set up once)."""
    root = logging.getLogger("convirt")
    if not root.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(HclogFormatter())
        root.addHandler(h)
        root.setLevel(logging.DEBUG)
        root.propagate = False
    return root.getChild(name)

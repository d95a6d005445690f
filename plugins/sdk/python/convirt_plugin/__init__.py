"""convirt's plugin SDK for Python: serve an encoder, a loss or a dataset
written in PyTorch (or anything else with numpy) as a convirt plugin process.

    import convirt_plugin

    class MyEncoder(convirt_plugin.Encoder):
        def info(self): ...
        ...

    if __name__ == "__main__":
        convirt_plugin.main(MyEncoder())

main completes go-plugin's handshake with the host that started the
process (magic cookie, AutoMTLS, the handshake line; handshake.py), serves
the Plugin service and the kind's service of plugin.proto (server.py) with tensors as
numpy views of shared memory (tensors.py), gRPC's health service and
go-plugin's controller, and returns when the host closes the plugin.
docs/plugins.md ("Python") is the guide.
"""

import os
import shutil
import signal
import sys
import threading
from concurrent import futures

from . import handshake, tensors
from .log import logger
from .server import OUTPUT_FEATURES, OUTPUT_PROJECTION, Batch, Info, add_plugin, new_call, one_line  # noqa: F401
from .tensors import WireOptions, from_wire, to_wire  # noqa: F401

__all__ = ["Plugin", "Encoder", "Loss", "Dataset", "Info", "Batch", "main", "serve", "OUTPUT_PROJECTION", "OUTPUT_FEATURES",
           "from_wire", "to_wire", "WireOptions"]


class Plugin:
    """The methods every plugin implements, whatever its kind (override
    info and configure)."""

    def info(self):
        """Returns an Info: name, version, description and config schema."""
        raise NotImplementedError

    def configure(self, config):
        """Builds the plugin (an encoder's model, a loss, a dataset's index)
        from config, a dict the host checked against the schema."""
        raise NotImplementedError

    def close(self):
        """Releases resources; the process exits afterwards."""


class Encoder(Plugin):
    """The methods an encoder plugin implements (override all but close)."""

    kind = "encoder"

    def forward(self, batch, train, graph, output):
        """Encodes batch.images (N,C,H,W float32) or batch.texts into the
        projection or the features (output); with graph, keeps what
        backward needs."""
        raise NotImplementedError

    def backward(self, grad):
        """Back-propagates grad, dLoss/d(output of the last graph forward),
        accumulating parameter gradients until step."""
        raise NotImplementedError

    def step(self, val_loss):
        """Steps the optimiser, zeroes the gradients; returns the learning
        rate used, or None."""
        raise NotImplementedError

    def state(self):
        """Returns the full state (weights, optimiser, schedule, RNG) as bytes."""
        raise NotImplementedError

    def set_state(self, state):
        """Restores a state that state() returned."""
        raise NotImplementedError


class Loss(Plugin):
    """The methods a loss plugin implements: compute, and for a loss with
    parameters of its own (a learnable temperature) step, state and
    set_state, which otherwise keep nothing."""

    kind = "loss"

    def compute(self, v, u):
        """Returns (loss, dL/dv, dL/du, metrics) for the image and text
        embeddings v and u, (N,D) numpy arrays; the gradients as arrays or
        torch tensors of the same shapes, metrics a dict of floats. A fifth
        value, when given, is the loss's chance level on this batch (ln N
        for InfoNCE over N pairs): the host warns when training stays there
        after a warm-up; without it the loss is not checked."""
        raise NotImplementedError

    def step(self):
        """Steps the loss's own parameters from the last compute."""

    def state(self):
        return b""

    def set_state(self, state):
        """Restores state(); an empty state (a stateless loss's) is no change."""
        if len(state):
            raise NotImplementedError("a loss with state must override set_state")


class Dataset(Plugin):
    """The methods a dataset plugin implements; the host owns the order."""

    kind = "dataset"

    def splits(self):
        """The split names."""
        raise NotImplementedError

    def describe(self, split):
        """A dict: len, label_names, task ("paired", "binary", "multilabel"
        or "multiclass")."""
        raise NotImplementedError

    def batch(self, split, indices, augment, seed, epoch):
        """A Batch of the samples at indices: images (N,C,H,W) float32,
        texts, labels (N,K) float32, label_names, groups (see plugin.proto);
        augment with seed, epoch and the index fixing the result."""
        raise NotImplementedError


def _health_servicer():
    from .pb import health_pb2, health_pb2_grpc

    class Health(health_pb2_grpc.HealthServicer):
        def Check(self, request, context):
            # go-plugin asks for "plugin"; the empty name is the server's.
            if request.service in ("", "plugin"):
                return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)

    return health_pb2_grpc, Health()


def _controller_servicer(stop):
    from .pb import goplugin_pb2, goplugin_pb2_grpc

    class Controller(goplugin_pb2_grpc.GRPCControllerServicer):
        def Shutdown(self, request, context):
            stop.set()
            return goplugin_pb2.Empty()

    return goplugin_pb2_grpc, Controller()


def _watch_parent(stop, log, interval=1.0):
    """Stops the plugin when the process that started it is gone (the host
    also sets a parent-death signal on Linux; this covers other systems)."""
    parent = os.getppid()
    while not stop.wait(interval):
        if os.getppid() != parent:
            log.warning("the host exited; stopping")
            stop.set()


def serve(plugin, env=None):
    """Serves plugin (an Encoder, Loss or Dataset: its kind attribute says
    which) until the host closes it; returns the exit status."""
    env = os.environ if env is None else env
    log = logger()
    try:
        handshake.check_cookie(env)
        kind = getattr(plugin, "kind", None)
        if kind not in ("encoder", "loss", "dataset"):
            raise ValueError("serve: %r is not a convirt_plugin.Encoder, Loss or Dataset" % type(plugin).__name__)
        handshake.check_versions(env)
        opts = WireOptions.from_env(env)
    except (handshake.NotLaunchedByHost, RuntimeError, ValueError) as e:
        sys.stderr.write(str(e) + "\n")
        return 1
    import grpc

    # A batch scheduler signals every process of a job (Slurm's SIGTERM
    # before a time limit), Ctrl-C a terminal's group: the plugin stays up so
    # the host, which stops cleanly, can still save its state, then close it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    stop = threading.Event()
    closed = []
    close_lock = threading.Lock()

    def close():
        with close_lock:
            if not closed:
                closed.append(True)
                plugin.close()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
        ("grpc.max_receive_message_length", opts.max_message_bytes),
        ("grpc.max_send_message_length", opts.max_message_bytes),
    ])
    add_plugin(server, plugin, kind, new_call(opts, log), close)
    hmod, health = _health_servicer()
    hmod.add_HealthServicer_to_server(health, server)
    cmod, ctl = _controller_servicer(stop)
    cmod.add_GRPCControllerServicer_to_server(ctl, server)

    path, sockdir = handshake.socket_path(env)
    client_pem = env.get("PLUGIN_CLIENT_CERT", "")
    der = None
    try:
        if client_pem:
            cert_pem, key_pem, der = handshake.generate_cert()
            creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_pem.encode(),
                                                require_client_auth=True)
            server.add_secure_port("unix:" + path, creds)
        else:
            server.add_insecure_port("unix:" + path)
        server.start()
        threading.Thread(target=_watch_parent, args=(stop, log), daemon=True).start()
        handshake.announce("unix", path, der)
        log.debug("plugin serving on %s" % path)
        stop.wait()
        # Shutdown's own reply is in flight: a short grace lets it go out.
        server.stop(grace=0.2).wait()
        close()
        return 0
    except Exception as e:
        log.error("plugin failed: %s" % one_line(e))
        return 1
    finally:
        tensors.sweep()
        shutil.rmtree(sockdir, ignore_errors=True)


def main(plugin):
    """serve(plugin), then exit with its status: a plugin's __main__. It
    exits at once (os._exit), without waiting for the threads gRPC and torch
    leave behind: the host waits only briefly before it kills a plugin."""
    status = serve(plugin)
    sys.stderr.flush()
    sys.__stdout__.flush()
    os._exit(status)

"""Tensors on the wire, as numpy arrays (and torch tensors) without copies.

A tensor on the wire (plugin.proto's Tensor) is a dtype, a row-major shape
and the little-endian element bytes, which travel either inline or in a
shared-memory segment: a regular file named "convirt-<sender pid>-<32 hex
digits>" in $CONVIRT_SHM_DIR (else /dev/shm, else the temp directory)
holding exactly the payload bytes. The receiver maps the segment and removes
its name; the sender removes what a receiver did not, and the host removes
every segment named after a plugin's pid once that plugin has stopped.

Received tensors are numpy views of a private (copy-on-write) mapping of the
segment: nothing is copied, and writing to one changes only this process's
pages. ``torch.from_numpy(array)`` is a view of the same memory.
"""

import mmap
import os
import re
import secrets
import tempfile

import numpy as np

from .pb import plugin_pb2 as pb

ENV_SHM_DIR = "CONVIRT_SHM_DIR"
ENV_MAX_MESSAGE_BYTES = "CONVIRT_PLUGIN_MAX_MSG_BYTES"
ENV_SHM_THRESHOLD = "CONVIRT_PLUGIN_SHM_THRESHOLD"
DEFAULT_MAX_MESSAGE_BYTES = 32 << 20
DEFAULT_SHM_THRESHOLD = 256 << 10

_NAME_RE = re.compile(r"^convirt-[0-9]+-[0-9a-f]{32}$")

# Wire dtype numbers (sdk/tensor.DType) to little-endian numpy dtypes.
DTYPES = {
    pb.DTYPE_FLOAT32: np.dtype("<f4"),
    pb.DTYPE_FLOAT64: np.dtype("<f8"),
    pb.DTYPE_INT64: np.dtype("<i8"),
    pb.DTYPE_INT32: np.dtype("<i4"),
    pb.DTYPE_UINT8: np.dtype("u1"),
}
_WIRE = {v: k for k, v in DTYPES.items()}


class WireError(ValueError):
    """A message that does not follow the wire format."""


class WireOptions:
    """The limits of the connection, as the host set them in the environment."""

    def __init__(self, max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES, shm_threshold=DEFAULT_SHM_THRESHOLD):
        self.max_message_bytes = max_message_bytes if max_message_bytes > 0 else DEFAULT_MAX_MESSAGE_BYTES
        self.shm_threshold = shm_threshold if shm_threshold != 0 else DEFAULT_SHM_THRESHOLD

    @classmethod
    def from_env(cls, env=None):
        env = os.environ if env is None else env
        vals = {}
        for key, default in ((ENV_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_BYTES), (ENV_SHM_THRESHOLD, DEFAULT_SHM_THRESHOLD)):
            s = env.get(key, "")
            try:
                vals[key] = int(s) if s else default
            except ValueError:
                raise WireError("environment %s=%r: not an integer" % (key, s)) from None
        return cls(vals[ENV_MAX_MESSAGE_BYTES], vals[ENV_SHM_THRESHOLD])

    def use_shm(self, nbytes):
        return self.shm_threshold > 0 and nbytes > 0 and nbytes >= self.shm_threshold


def shm_dir():
    """The directory holding segments, as the Go SDK (sdk/shm.Dir) picks it."""
    d = os.environ.get(ENV_SHM_DIR, "")
    if d:
        return d
    if os.path.isdir("/dev/shm"):
        return "/dev/shm"
    return tempfile.gettempdir()


def _segment_path(name):
    if not _NAME_RE.match(name):
        raise WireError("invalid shared-memory segment name %r" % name)
    return os.path.join(shm_dir(), name)


def map_segment(name, size):
    """Maps a segment privately (copy-on-write) and removes its name.

    Returns a writable buffer of exactly size bytes that stays valid after
    the file is gone, for as long as something refers to it."""
    path = _segment_path(name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise WireError("shared-memory segment %s: %s" % (path, e.strerror)) from None
    try:
        have = os.fstat(fd).st_size
        if have != size:
            raise WireError("shared-memory segment %s holds %d bytes, message says %d" % (path, have, size))
        if size == 0:
            return bytearray()
        return mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def write_segment(data):
    """Creates a segment holding data (a bytes-like object); returns its name."""
    name = "convirt-%d-%s" % (os.getpid(), secrets.token_hex(16))
    path = os.path.join(shm_dir(), name)
    view = memoryview(data).cast("B")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        off = 0
        while off < len(view):
            off += os.write(fd, view[off:])
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return name


def remove_segment(name):
    """Removes a segment this process wrote; one already gone is no error."""
    try:
        os.unlink(_segment_path(name))
    except FileNotFoundError:
        pass


def sweep(pid=None):
    """Removes every segment this process (or pid) created; returns how many."""
    d = shm_dir()
    prefix = "convirt-%d-" % (os.getpid() if pid is None else pid)
    n = 0
    try:
        names = os.listdir(d)
    except OSError:
        return 0
    for name in names:
        if name.startswith(prefix) and _NAME_RE.match(name):
            try:
                os.unlink(os.path.join(d, name))
                n += 1
            except FileNotFoundError:
                pass
    return n


def from_wire(msg):
    """Decodes a wire Tensor into a numpy array (None for an absent tensor).

    A shared-memory payload becomes a view of the mapped segment (no copy);
    an inline one, at most the shared-memory threshold, a view of a private
    copy, so that every array this returns is writable and can be handed to
    torch.from_numpy."""
    if msg is None:
        return None
    dt = DTYPES.get(msg.dtype)
    if dt is None:
        raise WireError("tensor: unknown dtype %d" % msg.dtype)
    shape = tuple(int(d) for d in msg.shape)
    if any(d < 0 for d in shape):
        raise WireError("tensor: negative dimension in shape %s" % (list(shape),))
    numel = 1
    for d in shape:
        numel *= d
    want = numel * dt.itemsize
    which = msg.WhichOneof("payload")
    if which == "shm":
        if msg.shm.size != want:
            raise WireError("tensor %s %s needs %d bytes, shared-memory segment has %d" % (list(shape), dt.name, want, msg.shm.size))
        buf = map_segment(msg.shm.name, msg.shm.size)
    else:
        buf = bytearray(msg.data)
        if len(buf) != want:
            raise WireError("tensor %s %s needs %d bytes, has %d" % (list(shape), dt.name, want, len(buf)))
    return np.frombuffer(buf, dtype=dt, count=numel).reshape(shape)


def _as_numpy(t):
    """A C-contiguous numpy array of t, a numpy array or a torch tensor."""
    if hasattr(t, "detach") and hasattr(t, "numpy"):  # a torch tensor
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.contiguous().numpy()
    a = np.asarray(t)
    if not a.flags.c_contiguous:  # (ascontiguousarray would make a scalar 1-d)
        a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a


def to_wire(t, opts, segments=None):
    """Encodes t (a numpy array or a torch tensor; None stays None) as a wire
    Tensor, through a new shared-memory segment when it is large. The names
    of the segments created are appended to segments."""
    if t is None:
        return None
    a = _as_numpy(t)
    wire = _WIRE.get(a.dtype)
    if wire is None:
        raise WireError("tensor dtype %s has no wire type (float32, float64, int64, int32, uint8)" % a.dtype)
    m = pb.Tensor(dtype=wire, shape=list(a.shape))
    if opts.use_shm(a.nbytes):
        name = write_segment(a)
        if segments is not None:
            segments.append(name)
        m.shm.name, m.shm.size = name, a.nbytes
    else:
        m.data = a.tobytes()
    return m


def blob_from_wire(msg):
    """Decodes a wire Blob (plugin state) into a bytes-like object."""
    which = msg.WhichOneof("payload")
    if which == "shm":
        return map_segment(msg.shm.name, msg.shm.size)
    if which == "data":
        return msg.data
    return b""


def blob_to_wire(data, opts, segments=None):
    """Encodes an opaque byte string as a wire Blob."""
    data = bytes(data) if not isinstance(data, (bytes, bytearray, memoryview)) else data
    n = memoryview(data).nbytes
    if opts.use_shm(n):
        name = write_segment(data)
        if segments is not None:
            segments.append(name)
        return pb.Blob(shm=pb.ShmRef(name=name, size=n))
    return pb.Blob(data=bytes(data))

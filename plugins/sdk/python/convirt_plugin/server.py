"""The gRPC services of a convirt plugin, around a Python object: an
encoder, a loss or a dataset (convirt_plugin.Encoder, Loss and Dataset say
what each method receives and returns). An encoder, for instance:

    info() -> Info
    configure(config: dict) -> None
    forward(batch: Batch, train: bool, graph: bool, output: str) -> array or torch tensor
    backward(grad: numpy array) -> None
    step(val_loss: float or None) -> float or None (the learning rate used)
    state() -> bytes-like
    set_state(state: bytes-like) -> None
    close() -> None

The servicers decode requests (tensors as numpy views, see tensors.py), call
the object under one lock (calls arrive on gRPC's worker threads), and turn
its exceptions into one-line gRPC errors the host shows with the plugin's
name and the method.
"""

import json
import threading

import grpc

from . import handshake, tensors
from .pb import plugin_pb2 as pb
from .pb import plugin_pb2_grpc as pb_grpc

OUTPUT_PROJECTION = "projection"
OUTPUT_FEATURES = "features"


class Info:
    """What a plugin says about itself. schema is a dict {"fields": [...]}:
    the JSON form of sdk/schema.Schema (name, type, doc, default, min, max,
    enum, ... per field); the host checks recipes against it."""

    def __init__(self, name, version, description="", schema=None):
        self.name, self.version, self.description = name, version, description
        self.schema = schema if schema is not None else {"fields": []}


class Batch:
    """A decoded Batch: images and labels as numpy arrays (or None)."""

    def __init__(self, ids, images, texts, labels, label_names, groups):
        self.ids, self.images, self.texts = ids, images, texts
        self.labels, self.label_names, self.groups = labels, label_names, groups


def batch_from_wire(m):
    if m is None:
        return None
    if m.groups and len(m.groups) != len(m.ids):
        raise tensors.WireError("batch has %d groups for %d ids: want one group per id, or none" % (len(m.groups), len(m.ids)))
    images = tensors.from_wire(m.images) if m.HasField("images") else None
    labels = tensors.from_wire(m.labels) if m.HasField("labels") else None
    return Batch(list(m.ids), images, list(m.texts), labels, list(m.label_names), list(m.groups))


def one_line(e):
    msg = str(e) or type(e).__name__
    return " ".join(msg.split())


class _Call:
    """Runs a method of the implementation and maps failures to statuses."""

    def __init__(self, lock, log):
        self.lock, self.log = lock, log

    def decode(self, context, what, fn, *args):
        try:
            return fn(*args)
        except (tensors.WireError, ValueError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "%s: %s" % (what, one_line(e)))

    def run(self, context, fn, *args):
        with self.lock:
            try:
                return fn(*args)
            except Exception as e:  # the plugin's own failure
                self.log.debug("call failed", exc_info=True)
                context.abort(grpc.StatusCode.UNKNOWN, one_line(e))


class PluginServicer(pb_grpc.PluginServicer):
    """The Plugin service every plugin process serves."""

    def __init__(self, impl, kind, call, on_close):
        self.impl, self.kind, self.call, self.on_close = impl, kind, call, on_close

    def Info(self, request, context):
        info = self.call.run(context, self.impl.info)
        return pb.InfoResponse(name=info.name, kind=self.kind, version=info.version,
                               protocol_version=handshake.PROTOCOL_VERSION, schema_json=json.dumps(info.schema).encode(),
                               description=info.description)

    def Configure(self, request, context):
        cfg = {}
        if request.config_json:
            cfg = self.call.decode(context, "config", json.loads, request.config_json)
            if not isinstance(cfg, dict):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "config: not a JSON object")
        self.call.run(context, self.impl.configure, cfg)
        return pb.Empty()

    def State(self, request, context):
        if not hasattr(self.impl, "state"):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "a %s plugin has no state" % self.kind)
        b = self.call.run(context, self.impl.state)
        return self.call.run(context, tensors.blob_to_wire, b, self.call.opts)

    def SetState(self, request, context):
        if not hasattr(self.impl, "set_state"):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "a %s plugin has no state" % self.kind)
        b = self.call.decode(context, "state", tensors.blob_from_wire, request)
        self.call.run(context, self.impl.set_state, b)
        return pb.Empty()

    def Close(self, request, context):
        self.call.run(context, self.on_close)
        return pb.Empty()


class EncoderServicer(pb_grpc.EncoderServicer):
    """The Encoder service: forward, backward from the host's gradient, step."""

    def __init__(self, impl, call):
        self.impl, self.call = impl, call

    def Forward(self, request, context):
        if len(request.outputs):  # named outputs (plugin.proto's LossNeeds)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "outputs [%s]: this encoder serves no named outputs" % " ".join(request.outputs))
        out = request.output or OUTPUT_PROJECTION
        if out not in (OUTPUT_PROJECTION, OUTPUT_FEATURES):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown output %r (want %r or %r)" % (out, OUTPUT_PROJECTION, OUTPUT_FEATURES))
        b = self.call.decode(context, "batch", batch_from_wire, request.batch if request.HasField("batch") else None)
        if b is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "batch: no batch")
        t = self.call.run(context, self.impl.forward, b, request.train, request.graph, out)
        if t is None:
            context.abort(grpc.StatusCode.INTERNAL, "forward returned no tensor")
        return pb.TensorMessage(tensor=self.call.run(context, tensors.to_wire, t, self.call.opts))

    def Backward(self, request, context):
        if len(request.named):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "gradients of named outputs: this encoder serves no named outputs")
        g = self.call.decode(context, "gradient", tensors.from_wire, request.tensor if request.HasField("tensor") else None)
        self.call.run(context, self.impl.backward, g)
        return pb.Empty()

    def Step(self, request, context):
        val = request.val_loss if request.HasField("val_loss") else None
        lr = self.call.run(context, self.impl.step, val)
        resp = pb.StepResponse()
        if lr is not None:
            resp.lr = float(lr)
        return resp


class LossServicer(pb_grpc.LossServicer):
    """The Loss service: the loss of two embedding batches and its gradients."""

    def __init__(self, impl, call):
        self.impl, self.call = impl, call

    def Compute(self, request, context):
        v = self.call.decode(context, "v", tensors.from_wire, request.v if request.HasField("v") else None)
        u = self.call.decode(context, "u", tensors.from_wire, request.u if request.HasField("u") else None)
        out = self.call.run(context, self.impl.compute, v, u)
        loss, gv, gu, metrics = out[:4]
        chance = out[4] if len(out) > 4 else 0.0
        segs = []
        try:
            return pb.ComputeResponse(loss=float(loss), grad_v=tensors.to_wire(gv, self.call.opts, segs),
                                      grad_u=tensors.to_wire(gu, self.call.opts, segs),
                                      metrics={k: float(x) for k, x in (metrics or {}).items()},
                                      chance=float(chance))
        except Exception as e:
            for name in segs:
                tensors.remove_segment(name)
            context.abort(grpc.StatusCode.INTERNAL, "compute result: %s" % one_line(e))

    def Step(self, request, context):
        self.call.run(context, self.impl.step)
        return pb.Empty()


class DatasetServicer(pb_grpc.DatasetServicer):
    """The Dataset service: splits, their descriptions, batches by index."""

    def __init__(self, impl, call):
        self.impl, self.call = impl, call

    def Splits(self, request, context):
        return pb.SplitsResponse(splits=list(self.call.run(context, self.impl.splits)))

    def Describe(self, request, context):
        d = self.call.run(context, self.impl.describe, request.split)
        return pb.SplitInfo(name=d.get("name", request.split), len=int(d["len"]),
                            label_names=list(d.get("label_names", [])), task=d.get("task", ""))

    def Batch(self, request, context):
        b = self.call.run(context, self.impl.batch, request.split, list(request.indices), request.augment,
                          request.seed, request.epoch)
        if b is None:
            context.abort(grpc.StatusCode.INTERNAL, "dataset returned no batch")
        segs = []
        try:
            return pb.Batch(ids=list(b.ids), images=tensors.to_wire(b.images, self.call.opts, segs),
                            texts=list(b.texts or []), labels=tensors.to_wire(b.labels, self.call.opts, segs),
                            label_names=list(b.label_names or []), groups=list(b.groups or []))
        except Exception as e:
            for name in segs:
                tensors.remove_segment(name)
            context.abort(grpc.StatusCode.INTERNAL, "batch: %s" % one_line(e))


_KINDS = {
    "encoder": (pb_grpc.add_EncoderServicer_to_server, EncoderServicer),
    "loss": (pb_grpc.add_LossServicer_to_server, LossServicer),
    "dataset": (pb_grpc.add_DatasetServicer_to_server, DatasetServicer),
}


def add_plugin(server, impl, kind, call, on_close):
    """Registers the Plugin service and the service of kind for impl."""
    if kind not in _KINDS:
        raise ValueError("the Python SDK serves %s plugins, not %r" % (", ".join(sorted(_KINDS)), kind))
    add, servicer = _KINDS[kind]
    pb_grpc.add_PluginServicer_to_server(PluginServicer(impl, kind, call, on_close), server)
    add(servicer(impl, call), server)


def new_call(opts, log):
    c = _Call(threading.Lock(), log)
    c.opts = opts
    return c

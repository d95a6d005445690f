#!/usr/bin/python3
"""Numpy-only plugins served by the Python SDK, for the tests of the SDK over
the real wire with the Go host (cmd/convirt's TestPythonSDKOverTheWire and
TestPythonSDKLossAndDataset). Without arguments it serves the encoder
py-sum, whose projection is w * (each image's sum), repeated dim times, with
w a learnable scalar trained by SGD, and whose features are [each image's
sum, 1 if the images arrived as a view of shared memory (no copy) else 0].
"loss" serves py-dot, "dataset" py-count (see their classes)."""

import json
import mmap
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import convirt_plugin  # noqa: E402


def mapped(a):
    while a is not None:
        if isinstance(a, mmap.mmap):
            return True
        a = a.obj if isinstance(a, memoryview) else getattr(a, "base", None)
    return False


class Sum(convirt_plugin.Encoder):
    def __init__(self):
        self.cfg = None

    def info(self):
        return convirt_plugin.Info("py-sum", "0.0.1", "test encoder: w times each image's sum", {"fields": [
            {"name": "dim", "type": "int", "doc": "output width", "default": 2, "min": 1},
            {"name": "lr", "type": "float", "doc": "SGD learning rate", "default": 0.1},
            {"name": "fail", "type": "bool", "doc": "fail in configure", "default": False},
        ]})

    def configure(self, config):
        if config.get("fail"):
            raise ValueError("configure was asked to fail\non two lines")
        self.cfg = dict({"dim": 2, "lr": 0.1}, **config)
        self.w, self.gw, self.saved = 1.0, 0.0, None

    def forward(self, batch, train, graph, output):
        x = batch.images
        s = x.reshape(x.shape[0], -1).sum(axis=1, dtype=np.float64)
        if graph:
            self.saved = s
        if output == convirt_plugin.OUTPUT_FEATURES:
            return np.stack([s, np.full_like(s, 1.0 if mapped(x) else 0.0)], axis=1).astype(np.float32)
        return np.repeat((self.w * s)[:, None], self.cfg["dim"], axis=1).astype(np.float32)

    def backward(self, grad):
        if self.saved is None:
            raise RuntimeError("backward without a graph forward")
        self.gw += float((grad.astype(np.float64) * self.saved[:, None]).sum())
        self.saved = None

    def step(self, val_loss):
        self.w -= self.cfg["lr"] * self.gw
        self.gw = 0.0
        return self.cfg["lr"]

    def state(self):
        return json.dumps({"w": self.w}).encode()

    def set_state(self, state):
        self.w = json.loads(bytes(state))["w"]


class Dot(convirt_plugin.Loss):
    """py-dot: loss = scale * sum(v * u); counts its steps in its state."""

    def info(self):
        return convirt_plugin.Info("py-dot", "0.0.1", "test loss: a scaled dot product", {"fields": [
            {"name": "scale", "type": "float", "doc": "the factor", "default": 1.0}]})

    def configure(self, config):
        self.scale, self.steps = float(config.get("scale", 1.0)), 0

    def compute(self, v, u):
        return (self.scale * float((v.astype(np.float64) * u).sum()), self.scale * u, self.scale * v,
                {"rows": v.shape[0], "v_view": 1.0 if mapped(v) else 0.0}, np.log(v.shape[0]))

    def step(self):
        self.steps += 1

    def state(self):
        return json.dumps({"steps": self.steps}).encode()

    def set_state(self, state):
        self.steps = json.loads(bytes(state))["steps"]


class Count(convirt_plugin.Dataset):
    """py-count: one split "train" of 5 samples; sample i's image is 2x2
    pixels of value i, its text "report i", its label i % 2, its patient
    "p" + i // 2."""

    def info(self):
        return convirt_plugin.Info("py-count", "0.0.1", "test dataset: five numbered samples")

    def configure(self, config):
        pass

    def splits(self):
        return ["train"]

    def describe(self, split):
        if split != "train":
            raise KeyError("no split %r" % split)
        return {"len": 5, "label_names": ["odd"], "task": "binary"}

    def batch(self, split, indices, augment, seed, epoch):
        n = len(indices)
        images = np.repeat(np.asarray(indices, np.float32), 4).reshape(n, 1, 2, 2)
        return convirt_plugin.Batch(["s%d" % i for i in indices], images, ["report %d" % i for i in indices],
                                    (np.asarray(indices, np.float32) % 2).reshape(n, 1), ["odd"],
                                    ["p%d" % (i // 2) for i in indices])


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "encoder"
    convirt_plugin.main({"encoder": Sum, "loss": Dot, "dataset": Count}[kind]())

"""Tests of the torch-resnet example: a state restored into a fresh plugin
trains on exactly as the original does (weights, Adam's moments, RNG), and
the wrong state is refused. Run by cmd/convirt's TestPythonSDKUnitTests."""

import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, "..", "..", "sdk", "python")]

import numpy as np  # noqa: E402

import convirt_plugin  # noqa: E402
from torch_resnet import TorchResNet  # noqa: E402

CFG = {"proj_dim": 8, "proj_hidden": 8, "lr": 0.01, "threads": 1}


def train(enc, steps):
    """steps split steps on fixed batches; the projections' sums."""
    out = []
    for i in range(steps):
        images = np.random.RandomState(i).randn(4, 3, 32, 32).astype(np.float32)
        y = enc.forward(convirt_plugin.Batch(["a"] * 4, images, [], None, [], []), True, True, "projection")
        enc.backward(np.random.RandomState(100 + i).randn(4, 8).astype(np.float32))
        enc.step(None)
        out.append(float(y.sum()))
    return out


class TorchResNetTest(unittest.TestCase):
    def test_state_round_trip_continues_exactly(self):
        a = TorchResNet()
        a.configure(dict(CFG, seed=1))
        train(a, 2)
        state = bytes(a.state())
        want = train(a, 2)
        b = TorchResNet()
        b.configure(dict(CFG, seed=2))  # other initial weights, replaced by the state
        b.set_state(state)
        self.assertEqual(train(b, 2), want)

    def test_bad_state_and_calls(self):
        e = TorchResNet()
        with self.assertRaisesRegex(RuntimeError, "forward before configure"):
            e.forward(None, True, True, "projection")
        e.configure(dict(CFG, seed=1))
        with self.assertRaisesRegex(RuntimeError, "backward without a forward"):
            e.backward(np.zeros((4, 8), np.float32))
        with self.assertRaisesRegex(Exception, ""):
            e.set_state(b"not a state")
        with self.assertRaisesRegex(ValueError, "unknown keys bogus"):
            TorchResNet().configure({"bogus": 1})
        y = e.forward(convirt_plugin.Batch(["a"], np.zeros((1, 1, 32, 32), np.float32), [], None, [], []), False, False, "features")
        self.assertEqual(tuple(y.shape), (1, 512))


if __name__ == "__main__":
    unittest.main()

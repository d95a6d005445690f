"""Tests of the Python plugin SDK's own parts: tensors on the wire (views of
shared memory), the handshake line and its certificate, the environment.
Run: /usr/bin/python3 -m unittest discover -s plugins/sdk/python/tests
(cmd/convirt's TestPythonSDKUnitTests runs them with go test)."""

import base64
import mmap
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from convirt_plugin import handshake, tensors  # noqa: E402
from convirt_plugin.pb import plugin_pb2 as pb  # noqa: E402


def mapped(a):
    """Whether numpy array a is (a view of) a memory map."""
    while a is not None:
        if isinstance(a, mmap.mmap):
            return True
        a = getattr(a, "base", None) if not isinstance(a, memoryview) else a.obj
    return False


class ShmDir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.old = os.environ.get(tensors.ENV_SHM_DIR)
        os.environ[tensors.ENV_SHM_DIR] = self.dir

    def tearDown(self):
        if self.old is None:
            del os.environ[tensors.ENV_SHM_DIR]
        else:
            os.environ[tensors.ENV_SHM_DIR] = self.old
        for n in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, n))
        os.rmdir(self.dir)


class TensorTest(ShmDir):
    def test_shared_memory_tensor_is_a_view_and_its_segment_is_removed(self):
        a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
        m = tensors.to_wire(a, tensors.WireOptions(shm_threshold=16))
        self.assertEqual(m.WhichOneof("payload"), "shm")
        self.assertRegex(m.shm.name, r"^convirt-%d-[0-9a-f]{32}$" % os.getpid())
        with open(os.path.join(self.dir, m.shm.name), "rb") as f:
            self.assertEqual(f.read(), a.tobytes())  # the layout: little-endian, row-major
        got = tensors.from_wire(m)
        self.assertEqual(got.shape, (2, 3, 4))
        self.assertTrue(np.array_equal(got, a))
        self.assertTrue(mapped(got), "not a view of the mapped segment")
        self.assertEqual(os.listdir(self.dir), [], "the receiver must remove the segment")
        got[0, 0, 0] = 7  # private mapping: writable
        self.assertEqual(got[0, 0, 0], 7)

    def test_torch_from_numpy_shares_the_mapping(self):
        try:
            import torch
        except ImportError:
            self.skipTest("no torch")
        a = np.ones((3, 5), dtype=np.float32)
        got = tensors.from_wire(tensors.to_wire(a, tensors.WireOptions(shm_threshold=1)))
        t = torch.from_numpy(got)
        t.mul_(3)
        self.assertEqual(float(got[2, 4]), 3.0)

    def test_small_tensor_inline_and_dtypes(self):
        for dt in ("<f4", "<f8", "<i8", "<i4", "u1"):
            a = (np.arange(6) % 5).astype(dt).reshape(3, 2)
            m = tensors.to_wire(a, tensors.WireOptions())
            self.assertEqual(m.WhichOneof("payload"), "data")
            self.assertEqual(m.data, a.tobytes())
            got = tensors.from_wire(m)
            self.assertEqual(got.dtype, np.dtype(dt))
            self.assertTrue(np.array_equal(got, a))
        scalar = tensors.from_wire(tensors.to_wire(np.float64(2.5), tensors.WireOptions()))
        self.assertEqual(scalar.shape, ())
        self.assertEqual(float(scalar), 2.5)

    def test_shared_memory_off(self):
        m = tensors.to_wire(np.zeros(1 << 16, np.float32), tensors.WireOptions(shm_threshold=-1))
        self.assertEqual(m.WhichOneof("payload"), "data")

    def test_bad_messages(self):
        with self.assertRaisesRegex(tensors.WireError, "unknown dtype"):
            tensors.from_wire(pb.Tensor(dtype=9, shape=[1], data=b"x"))
        with self.assertRaisesRegex(tensors.WireError, "needs 8 bytes, has 4"):
            tensors.from_wire(pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[2], data=b"\0" * 4))
        with self.assertRaisesRegex(tensors.WireError, "invalid shared-memory segment name"):
            tensors.from_wire(pb.Tensor(dtype=pb.DTYPE_UINT8, shape=[1], shm=pb.ShmRef(name="../etc/passwd", size=1)))
        with self.assertRaisesRegex(tensors.WireError, "needs 8 bytes, shared-memory segment has 9"):
            tensors.from_wire(pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[2], shm=pb.ShmRef(name="convirt-1-" + "0" * 32, size=9)))
        name = tensors.write_segment(b"abc")
        with self.assertRaisesRegex(tensors.WireError, "holds 3 bytes, message says 4"):
            tensors.from_wire(pb.Tensor(dtype=pb.DTYPE_UINT8, shape=[4], shm=pb.ShmRef(name=name, size=4)))
        with self.assertRaisesRegex(tensors.WireError, "no wire type"):
            tensors.to_wire(np.zeros(2, np.float16), tensors.WireOptions())

    def test_blob_and_sweep(self):
        opts = tensors.WireOptions(shm_threshold=4)
        segs = []
        b = tensors.blob_to_wire(b"state bytes", opts, segs)
        self.assertEqual(b.WhichOneof("payload"), "shm")
        self.assertEqual(bytes(tensors.blob_from_wire(b)), b"state bytes")
        self.assertEqual(tensors.blob_to_wire(b"abc", opts).data, b"abc")
        tensors.write_segment(b"left behind")
        self.assertEqual(tensors.sweep(), 1)
        self.assertEqual(os.listdir(self.dir), [])

    def test_wire_options_from_env(self):
        o = tensors.WireOptions.from_env({tensors.ENV_MAX_MESSAGE_BYTES: "1000", tensors.ENV_SHM_THRESHOLD: "-1"})
        self.assertEqual((o.max_message_bytes, o.shm_threshold), (1000, -1))
        o = tensors.WireOptions.from_env({})
        self.assertEqual((o.max_message_bytes, o.shm_threshold), (32 << 20, 256 << 10))
        with self.assertRaisesRegex(tensors.WireError, "CONVIRT_PLUGIN_SHM_THRESHOLD='x': not an integer"):
            tensors.WireOptions.from_env({tensors.ENV_SHM_THRESHOLD: "x"})


class HandshakeTest(unittest.TestCase):
    def test_cookie(self):
        with self.assertRaises(handshake.NotLaunchedByHost):
            handshake.check_cookie({})
        with self.assertRaises(handshake.NotLaunchedByHost):
            handshake.check_cookie({"CONVIRT_PLUGIN": "other"})
        handshake.check_cookie({"CONVIRT_PLUGIN": "convirt-plugin-v1"})

    def test_run_by_hand_explains_and_exits(self):
        env = {k: v for k, v in os.environ.items() if k != handshake.MAGIC_COOKIE_KEY}
        p = subprocess.run([sys.executable, "-B", os.path.join(os.path.dirname(os.path.abspath(__file__)), "sum_plugin.py")],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")  # stdout belongs to the handshake
        self.assertIn("This program is a convirt plugin", p.stderr)

    def test_versions(self):
        handshake.check_versions({})
        handshake.check_versions({"PLUGIN_PROTOCOL_VERSIONS": "2,1"})
        with self.assertRaisesRegex(RuntimeError, "speaks plugin protocol versions 2"):
            handshake.check_versions({"PLUGIN_PROTOCOL_VERSIONS": "2"})

    def test_line_and_certificate(self):
        from cryptography import x509

        cert_pem, key_pem, der = handshake.generate_cert()
        ln = handshake.line("unix", "/tmp/x/plugin.sock", der)
        parts = ln.split("|")
        self.assertEqual(parts[:5], ["1", "1", "unix", "/tmp/x/plugin.sock", "grpc"])
        self.assertNotIn("=", parts[5])  # base64 without padding, as go-plugin reads it
        raw = base64.b64decode(parts[5] + "=" * (-len(parts[5]) % 4))
        self.assertEqual(raw, der)
        c = x509.load_der_x509_certificate(raw)
        self.assertEqual(c, x509.load_pem_x509_certificate(cert_pem))
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.DNSName), ["localhost"])
        self.assertIn(b"PRIVATE KEY", key_pem)
        self.assertEqual(handshake.line("unix", "/s", None), "1|1|unix|/s|grpc|")


if __name__ == "__main__":
    unittest.main()

"""Writes torch.save files for torchpickle's tests into sys.argv[1]:

state.pth    an OrderedDict state dict (with _metadata) of a small module
             plus tensors of every dtype, a strided view, a scalar, an empty
             tensor and two names sharing one storage;
want.json    each tensor of state.pth: dtype, shape and values as listed;
nested.pth   a training checkpoint ({"model": state dict, "epoch": 3});
legacy.pth   the state dict in torch.save's pre-1.6 format;
evil.pth     a dict whose value unpickles by calling os.system, which would
             create sys.argv[2]; evil-legacy.pth the same in the pre-1.6 format.
"""
import collections
import json
import os
import sys

import torch

out, victim = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
torch.set_num_threads(1)
m = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Linear(4, 2))
sd = m.state_dict()
base = torch.arange(12, dtype=torch.float32)
sd["extra.f64"] = torch.linspace(-1, 1, 5, dtype=torch.float64)
sd["extra.f16"] = torch.tensor([0.5, -2.0], dtype=torch.float16)
sd["extra.bf16"] = torch.tensor([1.5, 3.0], dtype=torch.bfloat16)
sd["extra.i32"] = torch.tensor([[1, -2], [3, 4]], dtype=torch.int32)
sd["extra.i16"] = torch.tensor([7], dtype=torch.int16)
sd["extra.i8"] = torch.tensor([-8], dtype=torch.int8)
sd["extra.u8"] = torch.tensor([255, 0], dtype=torch.uint8)
sd["extra.bool"] = torch.tensor([True, False])
sd["extra.scalar"] = torch.tensor(2.5)
sd["extra.empty"] = torch.zeros(0, 3)
sd["extra.strided"] = base.view(3, 4)[:, 1::2]
sd["extra.shared"] = base.view(3, 4)
assert hasattr(sd, "_metadata")
torch.save(sd, os.path.join(out, "state.pth"))
names = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
         torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
         torch.bool: "BOOL"}
want = {k: {"dtype": names[v.dtype], "shape": list(v.shape), "values": v.double().flatten().tolist()}
        for k, v in sd.items()}
with open(os.path.join(out, "want.json"), "w") as f:
    json.dump(want, f)
torch.save({"model": sd, "epoch": 3}, os.path.join(out, "nested.pth"))
torch.save(sd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + victim,))


torch.save(collections.OrderedDict(x=Evil()), os.path.join(out, "evil.pth"))
torch.save(collections.OrderedDict(w=torch.ones(2), x=Evil()), os.path.join(out, "evil-legacy.pth"),
           _use_new_zipfile_serialization=False)
assert not os.path.exists(victim)

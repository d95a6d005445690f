"""PyTorch's side of convirt's weights interop tests (Debian's python3-torch
and python3-torchvision; plain torch, no transformers).

  pytorch.py resnet-save DIR     torchvision ResNet-50 (random init, batch-norm
                                 statistics from two random batches) saved with
                                 torch.save as DIR/resnet50.pth; DIR/x.bin a
                                 1x3x64x64 input, DIR/want.bin its pooled
                                 features (torchvision's forward without fc)
  pytorch.py bert-save DIR       a tiny BERT in Hugging Face's names, saved
                                 with torch.save as DIR/pytorch_model.bin
                                 (BertForPreTraining's: "bert." prefix, pooler,
                                 MLM head) with DIR/config.json; DIR/ids.bin
                                 and DIR/mask.bin (int64, 2x7) and
                                 DIR/want.bin the max-pooled last hidden state
  pytorch.py resnet-check DIR ARCH
                                 loads DIR/image.safetensors (torchvision names,
                                 strict) into torchvision's ARCH and
                                 DIR/image-head.safetensors into ConVIRT's head;
                                 writes DIR/got.bin, head(features(DIR/x.bin))
                                 for DIR/x.bin of shape given in DIR/x.json
  pytorch.py bert-check DIR POOLING
                                 loads the Hugging Face directory DIR/text
                                 (config.json, model.safetensors; strict but for
                                 the pooler) into the BERT below and
                                 DIR/text-head.safetensors; writes DIR/got.bin,
                                 head(pool(bert(DIR/ids.bin, DIR/mask.bin)))

All float files are raw little-endian float32, C order.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)


def write(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().numpy().tobytes())


def read(path, shape, dtype=torch.float32):
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=dtype).reshape(shape)


DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}


def load_safetensors(path):
    """A .safetensors file as a dict of tensors, read by hand (the format is
    an 8-byte header length, a JSON header and the data)."""
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=DTYPES[e["dtype"]]) if hi > lo else torch.zeros(0, dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"])
    return out


class BERT(torch.nn.Module):
    """Hugging Face's BertModel (post-LN, exact GELU, absolute positions,
    token type 0) in plain torch, with its parameter names."""

    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.heads, eps = c["num_attention_heads"], c.get("layer_norm_eps", 1e-12)
        e = torch.nn.Module()
        e.word_embeddings = torch.nn.Embedding(c["vocab_size"], H)
        e.position_embeddings = torch.nn.Embedding(c["max_position_embeddings"], H)
        e.token_type_embeddings = torch.nn.Embedding(c["type_vocab_size"], H)
        e.LayerNorm = torch.nn.LayerNorm(H, eps=eps)
        self.embeddings = e
        self.encoder = torch.nn.Module()
        self.encoder.layer = torch.nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            l = torch.nn.Module()
            l.attention = torch.nn.Module()
            l.attention.self = torch.nn.Module()
            for k in ("query", "key", "value"):
                setattr(l.attention.self, k, torch.nn.Linear(H, H))
            l.attention.output = torch.nn.Module()
            l.attention.output.dense = torch.nn.Linear(H, H)
            l.attention.output.LayerNorm = torch.nn.LayerNorm(H, eps=eps)
            l.intermediate = torch.nn.Module()
            l.intermediate.dense = torch.nn.Linear(H, I)
            l.output = torch.nn.Module()
            l.output.dense = torch.nn.Linear(I, H)
            l.output.LayerNorm = torch.nn.LayerNorm(H, eps=eps)
            self.encoder.layer.append(l)
        self.pooler = torch.nn.Module()
        self.pooler.dense = torch.nn.Linear(H, H)

    def forward(self, ids, mask):
        N, L = ids.shape
        e = self.embeddings
        x = e.word_embeddings(ids) + e.position_embeddings.weight[:L] + e.token_type_embeddings.weight[0]
        x = e.LayerNorm(x)
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for l in self.encoder.layer:
            s = l.attention.self
            H = x.shape[-1]
            d = H // self.heads

            def split(t):
                return t.view(N, L, self.heads, d).transpose(1, 2)

            q, k, v = split(s.query(x)), split(s.key(x)), split(s.value(x))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + ext, dim=-1) @ v
            a = a.transpose(1, 2).reshape(N, L, H)
            x = l.attention.output.LayerNorm(l.attention.output.dense(a) + x)
            h = l.output.dense(F.gelu(l.intermediate.dense(x)))
            x = l.output.LayerNorm(h + x)
        return x


def max_pool(h, mask):
    return h.masked_fill(mask[:, :, None] == 0, float("-inf")).amax(dim=1)


def head(prefix):
    """ConVIRT's projection head g(x) = W2 relu(W1 x) from a safetensors file."""
    w = load_safetensors(prefix)
    return lambda x: F.linear(F.relu(F.linear(x, w["linear1.weight"], w["linear1.bias"])), w["linear2.weight"], w["linear2.bias"])


def resnet_save(d):
    import torchvision
    m = torchvision.models.resnet50()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = None  # cumulative averages: statistics of these batches
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.randn(4, 3, 64, 64))
    m.eval()
    torch.save(m.state_dict(), os.path.join(d, "resnet50.pth"))
    x = torch.randn(1, 3, 64, 64)
    m.fc = torch.nn.Identity()
    with torch.no_grad():
        y = m(x)
    write(os.path.join(d, "x.bin"), x)
    write(os.path.join(d, "want.bin"), y)


def bert_save(d):
    c = {"model_type": "bert", "vocab_size": 50, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 64, "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
         "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
    m = BERT(c)
    with torch.no_grad():
        for p in m.parameters():  # LayerNorms away from 1 and 0, so that a swap shows
            p.normal_(0, 0.5)
    sd = {"bert." + k: v for k, v in m.state_dict().items()}
    sd["bert.embeddings.position_ids"] = torch.arange(16).view(1, -1)
    sd["cls.predictions.bias"] = torch.zeros(50)
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f)
    ids = torch.tensor([[2, 7, 9, 11, 3, 0, 0], [2, 5, 6, 8, 13, 17, 3]])
    mask = (ids != 0).long()
    with torch.no_grad():
        y = max_pool(m(ids, mask), mask)
    write(os.path.join(d, "ids.bin"), ids)
    write(os.path.join(d, "mask.bin"), mask)
    write(os.path.join(d, "want.bin"), y)


def resnet_check(d, arch):
    import torchvision
    m = getattr(torchvision.models, arch)()
    m.fc = torch.nn.Identity()
    m.load_state_dict(load_safetensors(os.path.join(d, "image.safetensors")), strict=True)
    m.eval()
    with open(os.path.join(d, "x.json")) as f:
        shape = json.load(f)
    g = head(os.path.join(d, "image-head.safetensors"))
    with torch.no_grad():
        write(os.path.join(d, "got.bin"), g(m(read(os.path.join(d, "x.bin"), shape))))


def bert_check(d, pooling):
    with open(os.path.join(d, "text", "config.json")) as f:
        c = json.load(f)
    m = BERT(c)
    missing, unexpected = m.load_state_dict(load_safetensors(os.path.join(d, "text", "model.safetensors")), strict=False)
    if [k for k in missing if not k.startswith("pooler.")] or unexpected:
        sys.exit(f"BERT state dict: missing {missing}, unexpected {unexpected}")
    m.eval()
    with open(os.path.join(d, "ids.json")) as f:
        shape = json.load(f)
    ids = read(os.path.join(d, "ids.bin"), shape, torch.int64)
    mask = read(os.path.join(d, "mask.bin"), shape, torch.int64)
    g = head(os.path.join(d, "text-head.safetensors"))
    with torch.no_grad():
        h = m(ids, mask)
        f = max_pool(h, mask) if pooling == "max" else h[:, 0]
        write(os.path.join(d, "got.bin"), g(f))


if __name__ == "__main__":
    {"resnet-save": resnet_save, "bert-save": bert_save, "resnet-check": resnet_check,
     "bert-check": bert_check}[sys.argv[1]](*sys.argv[2:])

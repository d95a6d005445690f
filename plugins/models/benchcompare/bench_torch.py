#!/usr/bin/env python3
"""PyTorch eager twin of `convirt bench model` (not run by the tests).

Runs the same full training steps (forward to pooled features, loss =
mean(features^2), backward, Adam lr 1e-4) on the same shapes and prints one
JSON object with the same fields, so the two can be compared side by side:

    convirt bench model --arch resnet50 --batch 8 --size 224 --steps 3 --threads 1 --json
    /usr/bin/python3 plugins/models/benchcompare/bench_torch.py --arch resnet50 --batch 8 --size 224 --steps 3 --threads 1

Needs Debian's python3-torch and python3-torchvision (libtorch 1.13, the
same library the Go build links). bert-* uses a plain BERT built from
torch.nn layers with Hugging Face's layout (no transformers package needed).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def rss_mb():
    with open("/proc/self/status") as f:
        vals = dict(line.split(":", 1) for line in f)
    return (float(vals["VmRSS"].split()[0]) / 1024, float(vals["VmHWM"].split()[0]) / 1024)


class Layer(nn.Module):
    def __init__(self, h, heads, inter, p):
        super().__init__()
        self.heads, self.p = heads, p
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(h, inter), nn.Linear(inter, h)

    def forward(self, x, bias):
        n, l, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(n, l, self.heads, d).permute(0, 2, 1, 3)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d) + bias
        att = F.dropout(att.softmax(-1), self.p, self.training)
        ctx = (att @ v).permute(0, 2, 1, 3).reshape(n, l, h)
        x = self.ln1(F.dropout(self.o(ctx), self.p, self.training) + x)
        y = self.fc2(F.gelu(self.fc1(x)))
        return self.ln2(F.dropout(y, self.p, self.training) + x)


class Bert(nn.Module):
    def __init__(self, vocab, h, layers, heads, inter, positions):
        super().__init__()
        self.word, self.pos, self.typ = nn.Embedding(vocab, h), nn.Embedding(positions, h), nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, heads, inter, 0.1) for _ in range(layers))

    def forward(self, ids, mask):
        l = ids.shape[1]
        x = self.word(ids) + self.pos.weight[:l] + self.typ.weight[:1]
        x = F.dropout(self.ln(x), 0.1, self.training)
        bias = ((mask == 0).float() * torch.finfo(torch.float32).min)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return x.masked_fill((mask == 0)[..., None], float("-inf")).amax(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--text-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    res = dict(impl="pytorch", arch=a.arch, batch=a.batch, steps=a.steps, warmup=a.warmup,
               threads=torch.get_num_threads())
    if a.arch in ("resnet18", "resnet50"):
        net = getattr(torchvision.models, a.arch)()
        net.fc = nn.Identity()
        res["size"] = a.size
        make = lambda: (torch.randn(a.batch, 3, a.size, a.size),)
    elif a.arch == "smallcnn":
        blocks = []
        c = 1
        for o in (16, 32, 64, 128, 256):
            blocks += [nn.Conv2d(c, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
            c = o
        net = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        res["size"] = a.size
        make = lambda: (torch.randn(a.batch, 1, a.size, a.size),)
    elif a.arch in ("bert-base", "bert-tiny"):
        sizes = (768, 12, 12, 3072, 512) if a.arch == "bert-base" else (128, 2, 2, 512, 128)
        net = Bert(30522, *sizes)
        res["text_len"] = a.text_len
        make = lambda: (torch.randint(30522, (a.batch, a.text_len)),
                        torch.ones(a.batch, a.text_len, dtype=torch.long))
    else:
        raise SystemExit(f"unknown --arch {a.arch}")
    net.train()
    res["params"] = sum(p.numel() for p in net.parameters() if p.requires_grad)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            res["rss_start_mb"] = rss_mb()[0]
            start = time.perf_counter()
        loss = net(*make()).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i == a.warmup:
            res["first_loss"] = loss.item()
        res["last_loss"] = loss.item()
    res["sec_per_step"] = (time.perf_counter() - start) / a.steps
    res["items_per_sec"] = a.batch / res["sec_per_step"]
    res["rss_end_mb"], res["rss_peak_mb"] = rss_mb()
    print(json.dumps(res))


if __name__ == "__main__":
    main()

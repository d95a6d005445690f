#!/usr/bin/env python3
"""PyTorch eager twin of `convirt bench model` (not run by the tests).

Runs the same full training steps (forward to pooled features, loss =
mean(features^2), backward, Adam lr 1e-4) on the same shapes and prints one
JSON object with the same fields, so the two can be compared side by side:

    convirt bench model --arch resnet50 --batch 8 --size 224 --steps 3 --threads 1 --json
    /usr/bin/python3 plugins/models/benchcompare/bench_torch.py --arch resnet50 --batch 8 --size 224 --steps 3 --threads 1

--arch convirt is the twin of `convirt bench convirt`: the full ConVIRT
step in one process -- image encoder (torchvision ResNet-50, or the small
CNN) and BERT (base: embeddings and first 6 layers frozen; tiny: 2 layers,
1 frozen), each with ConVIRT's projection head g(x) = W2 relu(W1 x) to 512,
the bidirectional InfoNCE loss (tau 0.1, lambda 0.75), and Adam (lr 1e-4,
weight decay 1e-6) over the trainable parameters, on one pre-made random
batch:

    convirt bench convirt --batch 32 --size 224 --text-len 32 --steps 3 --threads 1 --json
    /usr/bin/python3 plugins/models/benchcompare/bench_torch.py --arch convirt --batch 32 --size 224 --text-len 32 --steps 3 --threads 1

--precision bf16 runs the forwards under torch.autocast("cpu",
dtype=torch.bfloat16) and the loss in fp32 on fp32 outputs, as convirt's
precision key does (--precision fp16 with --device cuda adds
GradScaler); --device cuda runs --arch convirt on a GPU; --channels-last
converts the image model and its input to torch.channels_last, as a
PyTorch user does (model.to(memory_format=...)).

Needs Debian's python3-torch and python3-torchvision (libtorch 1.13, the
same library the Go build links). BERT is built from torch.nn layers with
Hugging Face's layout, matching plugins/models/bert (Debian 12 has no
python3-transformers package).
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def rss_mb():
    with open("/proc/self/status") as f:
        vals = dict(line.split(":", 1) for line in f)
    return (float(vals["VmRSS"].split()[0]) / 1024, float(vals["VmHWM"].split()[0]) / 1024)


def usage():
    """CPU time and page faults of this process so far: the usage_per_step fields of `convirt bench convirt`."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return dict(user_sec=r.ru_utime, sys_sec=r.ru_stime, minor_faults=r.ru_minflt, major_faults=r.ru_majflt)


def anon_huge_mb():
    """Resident anonymous memory on transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            vals = dict(line.split(":", 1) for line in f if line.rstrip().endswith(" kB"))
        return float(vals["AnonHugePages"].split()[0]) / 1024
    except (OSError, KeyError):
        return 0.0


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


def small_cnn(channels=1):
    blocks = []
    c = channels
    for o in (16, 32, 64, 128, 256):
        blocks += [nn.Conv2d(c, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
        c = o
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())


BERT_SIZES = {"base": (768, 12, 12, 3072, 512), "tiny": (128, 2, 2, 512, 128)}


def projection(d, out=512):
    """ConVIRT's head g(x) = W2 relu(W1 x), hidden size = feature size."""
    return nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, out))


def convirt_loss(v, u, tau=0.1, lam=0.75):
    v, u = F.normalize(v, dim=1), F.normalize(u, dim=1)
    logits = v @ u.t() / tau
    target = torch.arange(v.shape[0], device=v.device)
    return lam * F.cross_entropy(logits, target) + (1 - lam) * F.cross_entropy(logits.t(), target)


def autocast(a):
    """The forward's autocast context for --precision (fp32: disabled) on --device."""
    dtype = torch.float16 if a.precision == "fp16" else torch.bfloat16
    return torch.autocast(torch.device(a.device).type, dtype=dtype, enabled=a.precision != "fp32")


def layout(a):
    """The memory format of image models and inputs: channels-last with --channels-last."""
    return torch.channels_last if a.channels_last else torch.contiguous_format


def bench_convirt(a):
    """The full ConVIRT step, printing the fields of `convirt bench convirt`."""
    if a.image in ("resnet50", "resnet18"):
        img = getattr(torchvision.models, a.image)()
        img.fc = nn.Identity()
        channels, feat = 3, (2048 if a.image == "resnet50" else 512)
    elif a.image == "smallcnn":
        img, channels, feat = small_cnn(), 1, 256
    else:
        raise SystemExit(f"unknown --image {a.image}")
    h, layers, heads, inter, positions = BERT_SIZES[a.text]
    txt = Bert(30522, h, layers, heads, inter, positions)
    frozen = 6 if a.text == "base" else 1
    for m in [txt.word, txt.pos, txt.typ, txt.ln, *txt.layers[:frozen]]:
        m.requires_grad_(False)
    gv, gu = projection(feat), projection(h)
    dev = torch.device(a.device)
    mods = nn.ModuleList([img, txt, gv, gu]).train().to(dev)
    params = [p for p in mods.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4, weight_decay=1e-6)
    # fp16 (CUDA) trains with GradScaler's dynamic loss scale; disabled, it passes through.
    scaler = torch.cuda.amp.GradScaler(enabled=a.precision == "fp16")
    images = torch.randn(a.batch, channels, a.size, a.size, device=dev)
    img, images = img.to(memory_format=layout(a)), images.contiguous(memory_format=layout(a))
    ids = torch.randint(5, 30522, (a.batch, a.text_len), device=dev)
    mask = torch.ones(a.batch, a.text_len, dtype=torch.long, device=dev)
    res = dict(impl="pytorch", bench="convirt", image=a.image, text=a.text, batch=a.batch, size=a.size,
               text_len=a.text_len, steps=a.steps, warmup=a.warmup, threads=torch.get_num_threads(),
               device=a.device, gradcache_chunk=0, params=sum(p.numel() for p in params),
               precision=a.precision, channels_last=a.channels_last)
    times = []
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            use0 = usage()
        t = time.perf_counter()
        with autocast(a):
            v, u = gv(img(images)), gu(txt(ids, mask))
        loss = convirt_loss(v.float(), u.float())
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        value = loss.item()  # waits for the GPU, so the step's time is all of it
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
        if i == a.warmup:
            res["first_loss"] = value
        res["last_loss"] = value
    res["sec_per_step"] = sum(times) / len(times)
    res["sec_per_step_median"] = statistics.median(times)
    res["items_per_sec"] = a.batch / res["sec_per_step"]
    res["usage_per_step"] = {k: (v - use0[k]) / a.steps for k, v in usage().items()}
    res["rss_end_total_mb"], res["rss_peak_total_mb"] = rss_mb()
    res["anon_huge_mb"] = anon_huge_mb()
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50", help="resnet50, resnet18, smallcnn, bert-base, bert-tiny or convirt")
    ap.add_argument("--image", default="resnet50", help="--arch convirt: resnet50, resnet18 or smallcnn")
    ap.add_argument("--text", default="base", choices=sorted(BERT_SIZES), help="--arch convirt: BERT size")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--text-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="forward under autocast to bfloat16, or (CUDA only, with GradScaler) float16")
    ap.add_argument("--device", default="cpu", help="--arch convirt: cpu or cuda[:N]")
    ap.add_argument("--channels-last", action="store_true", help="image model and input in channels-last layout")
    a = ap.parse_args()
    if a.precision == "fp16" and not a.device.startswith("cuda"):
        raise SystemExit("--precision fp16 needs --device cuda (CPU autocast runs bfloat16 only)")
    if a.device != "cpu" and a.arch != "convirt":
        raise SystemExit("--device: only --arch convirt runs on a GPU")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.arch == "convirt":
        return bench_convirt(a)
    res = dict(impl="pytorch", arch=a.arch, batch=a.batch, steps=a.steps, warmup=a.warmup,
               threads=torch.get_num_threads(), precision=a.precision, channels_last=a.channels_last)
    if a.arch in ("resnet18", "resnet50"):
        net = getattr(torchvision.models, a.arch)()
        net.fc = nn.Identity()
        res["size"] = a.size
        net = net.to(memory_format=layout(a))
        make = lambda: (torch.randn(a.batch, 3, a.size, a.size).contiguous(memory_format=layout(a)),)
    elif a.arch == "smallcnn":
        net = small_cnn()
        res["size"] = a.size
        net = net.to(memory_format=layout(a))
        make = lambda: (torch.randn(a.batch, 1, a.size, a.size).contiguous(memory_format=layout(a)),)
    elif a.arch in ("bert-base", "bert-tiny"):
        net = Bert(30522, *BERT_SIZES[a.arch[len("bert-"):]])
        res["text_len"] = a.text_len
        make = lambda: (torch.randint(30522, (a.batch, a.text_len)),
                        torch.ones(a.batch, a.text_len, dtype=torch.long))
    else:
        raise SystemExit(f"unknown --arch {a.arch}")
    net.train()
    res["params"] = sum(p.numel() for p in net.parameters() if p.requires_grad)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    times = []
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            res["rss_start_mb"] = rss_mb()[0]
            start, cpu0 = time.perf_counter(), time.process_time()
        t = time.perf_counter()
        with autocast(a):
            f = net(*make())
        loss = f.float().pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
        if i == a.warmup:
            res["first_loss"] = loss.item()
        res["last_loss"] = loss.item()
    res["sec_per_step"] = (time.perf_counter() - start) / a.steps
    res["sec_per_step_median"] = statistics.median(times)
    res["cpu_sec_per_step"] = (time.process_time() - cpu0) / a.steps
    res["items_per_sec"] = a.batch / res["sec_per_step"]
    res["rss_end_mb"], res["rss_peak_mb"] = rss_mb()
    res["anon_huge_mb"] = anon_huge_mb()
    print(json.dumps(res))


if __name__ == "__main__":
    main()

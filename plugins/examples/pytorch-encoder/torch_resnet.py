"""torch-resnet: a convirt image encoder written in PyTorch.

A torchvision ResNet (resnet18 by default) with ConVIRT's projection head
(linear, ReLU, linear), trained by the host's split step: the host sends a
batch (forward, keeping the autograd graph), computes the loss in its own
loss plugin, sends back dLoss/d(projection) (backward), and asks for an
optimiser step; it saves state() in its checkpoints and restores it with
set_state() after a restart or on --resume.

Copy this directory to start your own encoder; build.sh packs it with the
SDK (plugins/sdk/python) into one executable that `convirt plugins install`
takes, as it takes a Go plugin's binary.
"""

import io
import json

import convirt_plugin

NAME = "torch-resnet"
VERSION = "0.1.0"
STATE_FORMAT = "torch-resnet/state/v1"
ARCHS = ["resnet18", "resnet34", "resnet50"]

# The config schema: the JSON form of sdk/schema.Schema. Keys named like the
# run's settings (seed, lr, weight_decay) are filled from the recipe's seed
# and train section unless the recipe sets them here.
SCHEMA = {"fields": [
    {"name": "arch", "type": "string", "doc": "the torchvision ResNet", "default": "resnet18", "enum": ARCHS},
    {"name": "proj_dim", "type": "int", "doc": "width of the projection; must equal the text encoder's", "default": 512, "min": 1},
    {"name": "proj_hidden", "type": "int", "doc": "hidden width of the projection head", "default": 512, "min": 1},
    {"name": "lr", "type": "float", "doc": "Adam learning rate (default: train.lr)", "default": 0.0001, "min": 0},
    {"name": "weight_decay", "type": "float", "doc": "Adam's L2 penalty (default: train.weight_decay)", "default": 0.0, "min": 0},
    {"name": "seed", "type": "int", "doc": "seed of the initial weights (default: the recipe's seed)", "default": 0, "min": 0},
    {"name": "threads", "type": "int", "doc": "CPU threads of torch (one keeps runs bit-for-bit repeatable)", "default": 1, "min": 1},
    {"name": "weights", "type": "string", "doc": "a torchvision state dict (.pth, read with torch.load(weights_only=True)) to start the ResNet from; empty: random", "default": ""},
]}
DEFAULTS = {f["name"]: f["default"] for f in SCHEMA["fields"]}


class TorchResNet(convirt_plugin.Encoder):
    """The encoder. torch is imported by configure, so that installing the
    plugin (which asks only for info) does not wait for it."""

    def __init__(self):
        self.torch = None
        self.model = None
        self.out = None  # the output of the last graph forward

    def info(self):
        return convirt_plugin.Info(NAME, VERSION, "torchvision ResNet image encoder with a ConVIRT projection head, in PyTorch", SCHEMA)

    def configure(self, config):
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError("config: unknown keys %s" % ", ".join(unknown))
        cfg = dict(DEFAULTS, **config)
        import torch
        import torchvision

        self.torch = torch
        torch.set_num_threads(int(cfg["threads"]))
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(int(cfg["seed"]))
        net = getattr(torchvision.models, cfg["arch"])(weights=None)
        if cfg["weights"]:
            sd = torch.load(cfg["weights"], map_location="cpu", weights_only=True)
            missing, unexpected = net.load_state_dict(sd, strict=False)
            missing = [k for k in missing if not k.startswith("fc.")]
            unexpected = [k for k in unexpected if not k.startswith("fc.")]
            if missing or unexpected:
                raise ValueError("weights %s: not a torchvision %s state dict (missing %s, unexpected %s)"
                                 % (cfg["weights"], cfg["arch"], missing[:3], unexpected[:3]))
        features = net.fc.in_features
        net.fc = torch.nn.Identity()
        head = torch.nn.Sequential(torch.nn.Linear(features, int(cfg["proj_hidden"])), torch.nn.ReLU(),
                                   torch.nn.Linear(int(cfg["proj_hidden"]), int(cfg["proj_dim"])))
        self.model = torch.nn.ModuleDict({"backbone": net, "head": head})
        self.opt = torch.optim.Adam(self.model.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
        self.cfg, self.steps, self.out = cfg, 0, None

    def _ready(self, what):
        if self.model is None:
            raise RuntimeError("%s before configure" % what)

    def forward(self, batch, train, graph, output):
        self._ready("forward")
        torch = self.torch
        if batch.images is None:
            raise ValueError("forward: the batch has no images (this is an image encoder)")
        x = torch.from_numpy(batch.images)  # a view of the shared-memory segment
        if x.dim() != 4:
            raise ValueError("forward: images of shape %s, want (N, C, H, W)" % list(x.shape))
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError("forward: images with %d channels, want 1 or 3" % x.shape[1])
        self.model.train(train)
        with torch.set_grad_enabled(graph):
            h = self.model["backbone"](x)
            y = self.model["head"](h) if output == convirt_plugin.OUTPUT_PROJECTION else h
        self.out = y if graph else None
        return y

    def backward(self, grad):
        self._ready("backward")
        if self.out is None:
            raise RuntimeError("backward without a forward that kept its graph (ForwardRequest.graph)")
        g = self.torch.from_numpy(grad) if grad is not None else None
        if g is None or tuple(g.shape) != tuple(self.out.shape):
            raise ValueError("backward: gradient of shape %s for an output of shape %s"
                             % (None if g is None else list(g.shape), list(self.out.shape)))
        out, self.out = self.out, None
        out.backward(g.to(out.dtype))

    def step(self, val_loss):
        self._ready("step")
        self.opt.step()
        self.opt.zero_grad(set_to_none=False)
        self.steps += 1
        return self.opt.param_groups[0]["lr"]

    def state(self):
        self._ready("state")
        opt_meta, opt_tensors = _split_optimizer(self.torch, self.opt.state_dict())
        buf = io.BytesIO()
        # Tensors, strings and ints only: what torch.load(weights_only=True)
        # reads back (torch 1.13's reader refuses Python floats, so the
        # optimiser's hyper-parameters travel as JSON).
        self.torch.save({"format": STATE_FORMAT, "arch": self.cfg["arch"], "steps": self.steps,
                         "model": self.model.state_dict(), "optimizer": opt_tensors, "optimizer_json": opt_meta,
                         "rng": self.torch.get_rng_state()}, buf)
        return buf.getbuffer()

    def set_state(self, state):
        self._ready("set state")
        # weights_only: tensors and plain containers, never pickled code.
        s = self.torch.load(io.BytesIO(state), map_location="cpu", weights_only=True)
        if not isinstance(s, dict) or s.get("format") != STATE_FORMAT:
            raise ValueError("set state: not a %s state" % STATE_FORMAT)
        if s.get("arch") != self.cfg["arch"]:
            raise ValueError("set state: the state is of a %s, the config says %s" % (s.get("arch"), self.cfg["arch"]))
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(_join_optimizer(s["optimizer_json"], s["optimizer"]))
        self.torch.set_rng_state(s["rng"])
        self.steps, self.out = int(s["steps"]), None


def _split_optimizer(torch, sd):
    """An optimiser's state dict as JSON (hyper-parameters, non-tensor
    state) and a flat dict of its tensors, keyed "PARAM.NAME"."""
    tensors, plain = {}, {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors["%d.%s" % (idx, k)] = v
            else:
                plain.setdefault(str(idx), {})[k] = v
    return json.dumps({"param_groups": sd["param_groups"], "state": plain}), tensors


def _join_optimizer(meta, tensors):
    """The state dict _split_optimizer took apart."""
    m = json.loads(meta)
    state = {int(i): dict(v) for i, v in m["state"].items()}
    for key, t in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = t
    return {"state": state, "param_groups": m["param_groups"]}

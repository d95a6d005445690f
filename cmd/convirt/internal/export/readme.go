package export

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// readme is the README.md Export writes: what each file is, how the
// weights were trained, and how to load them in PyTorch.
type readme struct {
	Recipe     *recipe.Recipe
	Meta       runs.Meta
	Run        string
	Checkpoint *Checkpoint
	Image      *encoder
	Text       *encoder
	BERT       *bertDir
}

// config renders a plugin's config as compact JSON (keys in name order).
func config(c map[string]any) string {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprint(c)
	}
	return "`" + string(b) + "`"
}

func (d readme) String() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	r, m, ck := d.Recipe, d.Meta, d.Checkpoint
	p("# ConVIRT encoders: %s, run %s", r.Name, m.ID)
	p("")
	p("Written by `convirt export` from the run directory `%s`.", d.Run)
	p("")
	p("## How they were trained")
	p("")
	p("- recipe `%s` (experiment `%s`), as resolved in the run's `%s`; overrides: %s", r.Name, m.Experiment, recipe.ResolvedFile, orNone(r.Overrides))
	p("- image encoder: plugin `%s`, config %s", r.ImageEncoder.Plugin, config(r.ImageEncoder.Config))
	if r.TextEncoder != nil {
		p("- text encoder: plugin `%s`, config %s", r.TextEncoder.Plugin, config(r.TextEncoder.Config))
	}
	if r.Loss != nil {
		p("- loss: plugin `%s`, config %s", r.Loss.Plugin, config(r.Loss.Config))
	}
	if r.Data.Pretrain != nil {
		p("- data: plugin `%s`, config %s", r.Data.Pretrain.Plugin, config(r.Data.Pretrain.Config))
	}
	t := r.Train
	p("- optimisation: %s, learning rate %g, weight decay %g, batch size %d, seed %d", t.Optimizer, t.LR, t.WeightDecay, t.BatchSize, r.Seed)
	p("- checkpoint `%s` (%s): step %d%s", ck.Path, ck.Used, ck.Step(), valLoss(ck))
	if ck.Note != "" {
		p("- note: %s", ck.Note)
	}
	env := m.Env
	p("- convirt %s, revision %s%s; project commit %s%s", env.Convirt.Version, orUnknown(env.Convirt.Revision), dirty(env.Convirt.Modified), orUnknown(env.GitCommit), dirty(env.GitDirty))
	p("- run %s started %s", m.ID, m.StartTime.UTC().Format("2006-01-02 15:04:05 UTC"))
	p("")
	p("## Files")
	p("")
	p("| file | what |")
	p("|---|---|")
	arch := imageArch(r.ImageEncoder)
	if strings.HasPrefix(arch, "resnet") {
		p("| `%s` | the image network: torchvision's `%s` state dict without the classifier (`fc`); load it into `torchvision.models.%s()` with `fc` replaced by `torch.nn.Identity()`: pooled features, %d per image |", ImageFile, arch, arch, d.Image.headIn)
	} else {
		p("| `%s` | the image network `%s`, convirt's own (plugins/models/%s) and names; %d features per image |", ImageFile, arch, arch, d.Image.headIn)
	}
	p("| `%s` | the image projection head: `linear2(relu(linear1(features)))`, %d → %d → %d (PyTorch `Linear` layout: weight [out, in]) |", ImageHeadFile, d.Image.headIn, d.Image.headHidden, d.Image.headOut)
	if d.Text != nil {
		c := d.BERT.cfg
		p("| `%s/` | the text network as a Hugging Face BERT directory: `config.json` (%d layers, hidden %d, %d heads), `vocab.txt` (the run's vocabulary, %d tokens, from `%s`), `tokenizer_config.json` (lower-casing %v), `model.safetensors` (`BertModel` names, no pooler) |", TextDir, c.Layers, c.Hidden, c.Heads, c.VocabSize, d.BERT.vocab, d.BERT.lowercase)
		p("| `%s` | the text projection head, as the image one: %d → %d → %d, applied to the %s of the last hidden states |", TextHeadFile, d.Text.headIn, d.Text.headHidden, d.Text.headOut, poolingText(d.BERT.pooling))
	}
	p("| `%s` | this file |", ReadmeFile)
	p("")
	p("All `.safetensors` files are plain state dicts: `safetensors.torch.load_file` reads them, or the 10-line reader in convirt's docs/weights.md.")
	p("")
	p("## Loading them in PyTorch")
	p("")
	p("```python")
	p("import torch, torch.nn.functional as F, torchvision")
	p("from safetensors.torch import load_file")
	p("")
	if strings.HasPrefix(arch, "resnet") {
		p("net = torchvision.models.%s()", arch)
		if ch := imageChannels(r.ImageEncoder); ch != 3 {
			p("net.conv1 = torch.nn.Conv2d(%d, 64, 7, 2, 3, bias=False)  # the run's in_channels", ch)
		}
		p("net.fc = torch.nn.Identity()")
		p("net.load_state_dict(load_file(%q))", ImageFile)
		p("net.eval()")
	} else {
		p("# %s holds convirt's %s (plugins/models/%s): build the same layers in PyTorch to load it", ImageFile, arch, arch)
	}
	p("head = load_file(%q)", ImageHeadFile)
	p("project = lambda f, h: F.linear(F.relu(F.linear(f, h[\"linear1.weight\"], h[\"linear1.bias\"])), h[\"linear2.weight\"], h[\"linear2.bias\"])")
	if strings.HasPrefix(arch, "resnet") {
		p("v = project(net(images), head)   # images: N x C x H x W, preprocessed as the run's dataset plugin did")
	}
	if d.Text != nil {
		p("")
		p("from transformers import BertModel, BertTokenizer")
		p("bert = BertModel.from_pretrained(%q, add_pooling_layer=False).eval()", TextDir)
		p("tok = BertTokenizer.from_pretrained(%q)", TextDir)
		p("x = tok(texts, padding=True, truncation=True, return_tensors=\"pt\")")
		p("h = bert(**x).last_hidden_state")
		if d.BERT.pooling == "cls" {
			p("f = h[:, 0]")
		} else {
			p("f = h.masked_fill(x[\"attention_mask\"][..., None] == 0, float(\"-inf\")).amax(dim=1)  # ConVIRT: max over tokens")
		}
		p("u = project(f, load_file(%q))", TextHeadFile)
	}
	p("```")
	return b.String()
}

func imageArch(ref recipe.PluginRef) string {
	if a, ok := ref.Config["arch"].(string); ok && a != "" {
		return a
	}
	if ref.Plugin == "smallcnn" {
		return "smallcnn"
	}
	return "resnet50"
}

func imageChannels(ref recipe.PluginRef) int {
	if n, ok := schema.Number(ref.Config["in_channels"]); ok {
		return int(n)
	}
	return 3
}

func poolingText(p string) string {
	if p == "cls" {
		return "[CLS] token"
	}
	return "maximum over the (unpadded) tokens"
}

func valLoss(ck *Checkpoint) string {
	if v, ok := ck.ValLoss(); ok {
		return fmt.Sprintf(", validation loss %.6g", v)
	}
	return ""
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return "`" + strings.Join(s, "`, `") + "`"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func dirty(d bool) string {
	if d {
		return " (with uncommitted changes)"
	}
	return ""
}

// Package datasetplugin serves every dataset reader of plugins/datasets as an
// sdk.Dataset plugin: "mimic-cxr", "chexpert", "rsna", "covidx", "mura",
// "paired" and "chexpert-8x200". Batches carry decoded, resized and (on
// request) augmented images, raw texts (one sampled sentence, in validation
// batches too, or the whole report), labels and each sample's group (its
// patient, for patient-grouped validation holdouts); the host owns the order.
// Each plugin's config is the common keys (CommonFields) plus its reader's
// own options (views, policy, column names, ...: catalog.Dataset.Fields).
// Bad samples are skipped, counted and logged; a split whose share of bad
// samples passes max_bad_fraction fails its batches with the first
// problems. Images are read from a prepared cache of pre-resized copies
// (plugins/datasets/prepare) when one exists for the root, as the prepared
// key says.
package datasetplugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/hashicorp/go-hclog"
)

// Version is the plugins' version.
const Version = "0.1.0"

func init() {
	for _, d := range catalog.All() {
		name, doc := d.Name, d.Doc
		builtin.RegisterDataset(name, func() sdk.Dataset { return New(name, doc) })
	}
}

// Plugin is one dataset plugin.
type Plugin struct {
	name, doc string

	mu     sync.Mutex
	log    hclog.Logger
	cfg    Config
	opts   map[string]any    // the reader's options
	cache  loader.ImageCache // prepared copies; nil: read the originals
	splits map[string]*split
	roots  []string // real directories images must resolve inside; see confinement
}

// split is one opened split with its bad-sample tally.
type split struct {
	src   source.Source
	tally *tally
}

// New returns the unconfigured plugin for the catalogue dataset name. It
// logs (bad samples) as hclog JSON on stderr, which a host turns into run
// log entries; SetLogger changes that.
func New(name, doc string) *Plugin {
	return &Plugin{name: name, doc: doc, log: hclog.New(&hclog.LoggerOptions{
		Name: "dataset." + name, Output: os.Stderr, JSONFormat: true, Level: hclog.Info})}
}

// SetLogger sets where the plugin logs.
func (p *Plugin) SetLogger(l hclog.Logger) {
	p.mu.Lock()
	p.log = l
	p.mu.Unlock()
}

// readerFields are the reader options of the plugin's dataset (none for a
// name not in the catalogue, which Configure rejects).
func (p *Plugin) readerFields() []schema.Field {
	d, err := catalog.Lookup(p.name)
	if err != nil {
		return nil
	}
	return d.Fields
}

// Info implements sdk.Plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: p.name, Kind: sdk.KindDataset, Version: Version, ProtocolVersion: sdk.ProtocolVersion, Description: p.doc,
		Schema: schema.Schema{Fields: fields(p.readerFields())}}, nil
}

// Configure implements sdk.Plugin.
// The reader's options are checked here (keys, types, allowed values), but
// splits are opened on first use.
func (p *Plugin) Configure(_ context.Context, raw map[string]any) error {
	d, err := catalog.Lookup(p.name)
	if err != nil {
		return err
	}
	if err := catalog.IssuesError(p.name, schema.Schema{Fields: fields(d.Fields)}.Check("", raw)); err != nil {
		return err
	}
	common, opts := map[string]any{}, map[string]any{}
	for k, v := range raw {
		if isCommon(k) {
			common[k] = v
		} else {
			opts[k] = v
		}
	}
	cfg := DefaultConfig()
	if err := sdk.DecodeConfig(common, &cfg); err != nil {
		return fmt.Errorf("dataset %s: %w", p.name, err)
	}
	if cfg.Root == "" {
		return fmt.Errorf("dataset %s: config key root is required", p.name)
	}
	if err := cfg.Augment.Validate(); err != nil {
		return fmt.Errorf("dataset %s: %w", p.name, err)
	}
	if err := checkNorm(cfg); err != nil {
		return fmt.Errorf("dataset %s: %w", p.name, err)
	}
	if err := d.CheckOptions(opts); err != nil {
		return err
	}
	cache, err := p.openCache(cfg)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.cfg, p.opts, p.cache, p.splits = cfg, opts, cache, map[string]*split{}
	p.roots = nil
	p.mu.Unlock()
	return nil
}

// Close implements sdk.Plugin.
func (p *Plugin) Close() error { return nil }

func (p *Plugin) open(name string) (*split, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.splits == nil {
		return nil, errors.New("dataset: not configured")
	}
	if s, ok := p.splits[name]; ok {
		return s, nil
	}
	src, err := catalog.OpenOptions(p.name, p.cfg.Root, name, p.opts)
	if err != nil {
		return nil, err
	}
	s := &split{src: src, tally: newTally(src)}
	// Which task the split poses, stated once: a reader may derive it from
	// its files (COVIDx's variant: auto).
	p.log.Info("split opened", "dataset", p.name, "split", name, "examples", src.Len(), "task", string(src.Task()),
		"labels", strings.Join(src.LabelNames(), ", "))
	if ps := src.Problems(); len(ps) > 0 {
		p.log.Warn("index rows rejected", "dataset", p.name, "split", name, "rejected", len(ps), "kept", src.Len(), "first", ps[0].Error())
	}
	p.splits[name] = s
	return s, nil
}

// Splits implements sdk.Dataset.
func (p *Plugin) Splits(context.Context) ([]string, error) {
	for _, d := range catalog.All() {
		if d.Name == p.name {
			return d.Splits, nil
		}
	}
	return nil, fmt.Errorf("dataset %s: not in the catalogue", p.name)
}

// Describe implements sdk.Dataset.
func (p *Plugin) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	sp, err := p.open(split)
	if err != nil {
		return sdk.SplitInfo{}, err
	}
	s := sp.src
	return sdk.SplitInfo{Name: split, Len: s.Len(), LabelNames: s.LabelNames(), Task: string(s.Task())}, nil
}

// Batch implements sdk.Dataset. Samples that fail to load are left out of
// the batch (so it can be shorter than asked, or empty when all of them
// fail), counted and logged; once the split's bad share passes
// max_bad_fraction, Batch fails.
func (p *Plugin) Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	sp, err := p.open(req.Split)
	if err != nil {
		return nil, err
	}
	s := sp.src
	for _, i := range req.Indices {
		if i < 0 || i >= s.Len() {
			return nil, fmt.Errorf("dataset %s split %s: index %d out of range [0,%d)", p.name, req.Split, i, s.Len())
		}
	}
	roots, err := p.confinement()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	cache := p.cache
	p.mu.Unlock()
	o := loader.Options{Size: p.cfg.ImageSize, Channels: p.cfg.Channels, Resize: p.cfg.Resize, Augment: req.Augment, Aug: p.cfg.Augment,
		Seed: req.Seed, Epoch: req.Epoch, Cache: cache}
	o.MaxPixels, o.Roots = p.cfg.MaxPixels, roots
	o.Mean, o.Std = float32s(p.cfg.Mean), float32s(p.cfg.Std)
	lb, err := loader.LoadBatch(ctx, s, req.Indices, o, p.cfg.Workers)
	if err != nil {
		return nil, err
	}
	if err := p.count(sp, req, lb.Bad, lb.BadIndices); err != nil {
		return nil, err
	}
	if len(lb.Examples) == 0 {
		// Every sample failed to load: they are counted like any bad
		// sample, and under max_bad_fraction the batch is empty; the
		// host skips it.
		return &sdk.Batch{LabelNames: s.LabelNames()}, nil
	}
	b := &sdk.Batch{Images: lb.Images, LabelNames: s.LabelNames(), Groups: groups(lb.Examples)}
	var labels []float32
	for _, ex := range lb.Examples {
		b.IDs = append(b.IDs, ex.ID)
		if len(ex.Texts) > 0 {
			b.Texts = append(b.Texts, p.text(ex, req))
		}
		labels = append(labels, ex.Labels...)
	}
	if k := len(b.LabelNames); k > 0 && len(labels) == k*len(lb.Examples) {
		if b.Labels, err = tensor.FromFloat32([]int64{int64(len(lb.Examples)), int64(k)}, labels); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// groups returns the examples' groups (their patients, source.Example.Group)
// for sdk.Batch.Groups: one per example, or nil when the reader knows none,
// so that validation holdouts keep each patient on one side.
func groups(exs []source.Example) []string {
	out := make([]string, len(exs))
	known := false
	for i, ex := range exs {
		out[i] = ex.Group
		known = known || ex.Group != ""
	}
	if !known {
		return nil
	}
	return out
}

// textSeed fixes the sentence of a plain (unaugmented) batch, the same in
// every run whatever its seed.
const textSeed = 0x5e17e9ce

// text picks a sample's text. With sentence sampling it is one sentence of
// Findings + Impression, as the paper trains: in an augmented (training)
// batch drawn from (seed, epoch, id), anew each epoch; in a plain batch
// (validation) fixed by the id alone, so that a held-out pair always gets the
// same sentence, in every validation and every run, and the validation loss
// is the training objective on held-out pairs. With report sampling, or a
// one-sentence text, it is the whole text.
func (p *Plugin) text(ex source.Example, req sdk.BatchRequest) string {
	if p.cfg.Text != "sentence" || len(ex.Texts) < 2 {
		return strings.Join(ex.Texts, " ")
	}
	r := loader.RNG(textSeed, 0, ex.ID)
	if req.Augment {
		r = loader.RNG(req.Seed^textSeed, req.Epoch, ex.ID)
	}
	return ex.Texts[r.IntN(len(ex.Texts))]
}

// Package dataset serves every dataset reader of plugins/datasets as an
// sdk.Dataset plugin: "mimic-cxr", "chexpert", "rsna", "covidx", "mura",
// "paired" and "chexpert-8x200". Batches carry decoded, resized and (on
// request) augmented images, raw texts (one sampled sentence or the whole
// report) and labels; the host owns the order.
package dataset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/convirt/convirt/core/schema"
	"github.com/convirt/convirt/core/tensor"
	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
)

// Version is the plugins' version.
const Version = "0.1.0"

func init() {
	for _, d := range catalog.All() {
		name, doc := d.Name, d.Doc
		builtin.RegisterDataset(name, func() sdk.Dataset { return New(name, doc) })
	}
}

// Config is a dataset plugin's configuration.
type Config struct {
	Root      string         `json:"root"`
	ImageSize int            `json:"image_size"`
	Channels  int            `json:"channels"`
	Resize    string         `json:"resize"`
	Augment   augment.Config `json:"augment"`
	Text      string         `json:"text_sampling"` // sentence or report
	Workers   int            `json:"workers"`
}

// Plugin is one dataset plugin.
type Plugin struct {
	name, doc string
	cfg       Config

	mu     sync.Mutex
	splits map[string]source.Source
}

// New returns the unconfigured plugin for the catalogue dataset name.
func New(name, doc string) *Plugin { return &Plugin{name: name, doc: doc} }

// Info implements sdk.Plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: p.name, Kind: sdk.KindDataset, Version: Version, ProtocolVersion: sdk.ProtocolVersion, Description: p.doc,
		Schema: schema.Schema{Fields: []schema.Field{
			{Name: "root", Type: schema.String, Required: true, Doc: "dataset directory, laid out as downloaded (docs/datasets.md)"},
			{Name: "image_size", Type: schema.Int, Default: 224, Min: schema.Ptr(8), Max: schema.Ptr(4096), Doc: "output image side in pixels"},
			{Name: "channels", Type: schema.Int, Default: 1, Min: schema.Ptr(1), Max: schema.Ptr(3), Doc: "1 (grayscale) or 3 (gray replicated, for ImageNet weights)"},
			{Name: "resize", Type: schema.String, Default: "center-crop", Enum: []string{"center-crop", "stretch"}, Doc: "how images are fitted to the square"},
			{Name: "augment", Type: schema.Any, Doc: "the paper's augmentations: crop_scale, crop_ratio, flip, flip_p, rotation, translate, scale, brightness, contrast, blur_sigma, blur_p, blur_kernel"},
			{Name: "text_sampling", Type: schema.String, Default: "sentence", Enum: []string{"sentence", "report"}, Doc: "training text: one sampled sentence (the paper) or the whole Findings + Impression"},
			{Name: "workers", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "image decoding goroutines; 0 uses every core"},
		}}}, nil
}

// Configure implements sdk.Plugin.
func (p *Plugin) Configure(_ context.Context, raw map[string]any) error {
	cfg := Config{ImageSize: 224, Channels: 1, Resize: "center-crop", Augment: augment.Default(), Text: "sentence"}
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return fmt.Errorf("dataset %s: %w", p.name, err)
	}
	if cfg.Root == "" {
		return fmt.Errorf("dataset %s: config key root is required", p.name)
	}
	if err := cfg.Augment.Validate(); err != nil {
		return fmt.Errorf("dataset %s: %w", p.name, err)
	}
	p.mu.Lock()
	p.cfg, p.splits = cfg, map[string]source.Source{}
	p.mu.Unlock()
	return nil
}

// Close implements sdk.Plugin.
func (p *Plugin) Close() error { return nil }

func (p *Plugin) open(split string) (source.Source, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.splits == nil {
		return nil, errors.New("dataset: not configured")
	}
	if s, ok := p.splits[split]; ok {
		return s, nil
	}
	s, err := catalog.Open(p.name, p.cfg.Root, split)
	if err != nil {
		return nil, err
	}
	p.splits[split] = s
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
	s, err := p.open(split)
	if err != nil {
		return sdk.SplitInfo{}, err
	}
	return sdk.SplitInfo{Name: split, Len: s.Len(), LabelNames: s.LabelNames(), Task: string(s.Task())}, nil
}

// Batch implements sdk.Dataset. Samples that fail to load are left out of
// the batch (so it can be shorter than asked) and counted by the reader.
func (p *Plugin) Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	s, err := p.open(req.Split)
	if err != nil {
		return nil, err
	}
	for _, i := range req.Indices {
		if i < 0 || i >= s.Len() {
			return nil, fmt.Errorf("dataset %s split %s: index %d out of range [0,%d)", p.name, req.Split, i, s.Len())
		}
	}
	o := loader.Options{Size: p.cfg.ImageSize, Channels: p.cfg.Channels, Resize: p.cfg.Resize, Augment: req.Augment, Aug: p.cfg.Augment, Seed: req.Seed, Epoch: req.Epoch}
	lb, err := loader.LoadBatch(ctx, s, req.Indices, o, p.cfg.Workers)
	if err != nil {
		return nil, err
	}
	if len(lb.Examples) == 0 {
		return nil, fmt.Errorf("dataset %s split %s: every sample of the batch failed to load; first: %s", p.name, req.Split, firstProblem(lb.Bad))
	}
	b := &sdk.Batch{Images: lb.Images, LabelNames: s.LabelNames()}
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

// text picks the training text: with augmentation and sentence sampling, one
// sentence drawn from (seed, epoch, id) as the paper does; otherwise the
// whole Findings + Impression.
func (p *Plugin) text(ex source.Example, req sdk.BatchRequest) string {
	if req.Augment && p.cfg.Text == "sentence" && len(ex.Texts) > 1 {
		r := loader.RNG(req.Seed^0x5e17e9ce, req.Epoch, ex.ID)
		return ex.Texts[r.IntN(len(ex.Texts))]
	}
	return strings.Join(ex.Texts, " ")
}

func firstProblem(ps []source.Problem) string {
	if len(ps) == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%s: %s", ps[0].Path, ps[0].Msg)
}

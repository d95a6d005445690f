// Package image holds the built-in image encoder plugins: "resnet"
// (ResNet-50 or ResNet-18, torchvision's networks and parameter names) and
// "smallcnn" (the CPU demo's 5-block CNN), each followed by ConVIRT's
// projection head.
package image

import (
	"fmt"
	"strings"

	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/resnet"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/models/smallcnn"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/models/weights"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// The registered plugin names.
const (
	ResNet   = "resnet"
	SmallCNN = "smallcnn"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Config is the plugin's configuration.
type Config struct {
	Arch          string `json:"arch" enum:"resnet50|resnet18" doc:"network depth"`
	InChannels    int64  `json:"in_channels" min:"1" max:"4" doc:"image channels (3 for ImageNet weights, 1 for grayscale)"`
	Weights       string `json:"weights" doc:"optional torchvision-named weights (e.g. ImageNet): a .safetensors file, or a torch.save state dict (.pth) as torchvision publishes them"`
	WeightsPrefix string `json:"weights_prefix" doc:"prefix to strip from the names in weights"`
	MemoryFormat  string `json:"memory_format" enum:"contiguous|channels_last" doc:"layout of the images and activations: contiguous (NCHW) or channels_last (NHWC, which oneDNN's and cuDNN's convolutions prefer; docs/performance.md, Mixed precision)"`
	torchenc.Common
}

// DefaultConfig is the config of plugin name (ResNet or SmallCNN) before
// the recipe's keys apply: ResNet-50 on 3 channels, or the small CNN on 1.
func DefaultConfig(name string) Config {
	cfg := Config{Common: torchenc.Defaults(), Arch: "resnet50", InChannels: 3, MemoryFormat: "contiguous"}
	if name == SmallCNN {
		cfg.Arch, cfg.InChannels = "smallcnn", 1
	}
	return cfg
}

// Schema is the config schema of plugin name, derived from Config's tags
// with DefaultConfig's values; "smallcnn" has one network, so its arch
// allows only that.
func Schema(name string) schema.Schema {
	var opts []schema.Option
	if name == SmallCNN {
		opts = append(opts, schema.Modify("arch", func(f *schema.Field) { f.Enum, f.Doc = []string{"smallcnn"}, "network" }))
	}
	return schema.MustDerive(DefaultConfig(name), opts...)
}

func init() {
	builtin.RegisterEncoder(ResNet, func() sdk.Encoder { return New(ResNet) })
	builtin.RegisterEncoder(SmallCNN, func() sdk.Encoder { return New(SmallCNN) })
}

// Info describes the plugin name (ResNet or SmallCNN) and its config schema.
func Info(name string) sdk.Info {
	return sdk.Info{Name: name, Kind: sdk.KindEncoder, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: "image encoder: ResNet-50/18 or a small CNN, with the ConVIRT projection head", Schema: Schema(name)}
}

// New returns the unconfigured plugin name (ResNet or SmallCNN).
func New(name string) *torchenc.Plugin {
	return torchenc.NewPlugin(Info(name), func(raw map[string]any) (torchenc.Common, torchenc.Builder, error) {
		return setup(name, raw)
	})
}

type features interface {
	Forward(x *ts.Tensor, train bool) (*ts.Tensor, error)
	FeatureDim() int64
}

type net struct {
	m            features
	channelsLast bool
}

func (n net) FeatureDim() int64 { return n.m.FeatureDim() }

func (n net) Features(b *sdk.Batch, train bool, dev gotch.Device) (*ts.Tensor, error) {
	var s torchx.Scope
	defer s.Free()
	x, err := n.input(&s, b, dev)
	if err != nil {
		return nil, err
	}
	return n.m.Forward(x, train)
}

func setup(name string, raw map[string]any) (torchenc.Common, torchenc.Builder, error) {
	cfg := DefaultConfig(name)
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return cfg.Common, nil, err
	}
	if cfg.MemoryFormat != "contiguous" && cfg.MemoryFormat != "channels_last" {
		return cfg.Common, nil, fmt.Errorf("memory_format %q: want contiguous or channels_last", cfg.MemoryFormat)
	}
	build := func(vs *nn.VarStore, p *nn.Path) (torchenc.Net, error) {
		var m features
		var err error
		switch cfg.Arch {
		case "resnet50", "resnet18":
			m, err = resnet.New(p, resnet.Config{Arch: resnet.Arch(cfg.Arch), InChannels: cfg.InChannels})
		case "smallcnn":
			m, err = smallcnn.New(p, smallcnn.Config{InChannels: cfg.InChannels})
		default:
			err = fmt.Errorf("arch %q: want resnet50, resnet18 or smallcnn", cfg.Arch)
		}
		if err != nil {
			return nil, err
		}
		return net{m: m, channelsLast: cfg.MemoryFormat == "channels_last"}, nil
	}
	if cfg.Weights != "" {
		build = withWeights(build, cfg.Weights, cfg.WeightsPrefix)
	}
	return cfg.Common, build, nil
}

// withWeights loads torchvision-named weights into the network after it is
// built; a classifier (fc.*) in the file is ignored.
func withWeights(build torchenc.Builder, path, strip string) torchenc.Builder {
	return func(vs *nn.VarStore, p *nn.Path) (torchenc.Net, error) {
		n, err := build(vs, p)
		if err != nil {
			return nil, err
		}
		ignore := func(name string) bool { return strings.HasPrefix(name, "fc.") }
		opts := safetensors.LoadOptions{StripPrefix: strip, VarPrefix: "net.", AllowUnexpected: ignore}
		if err := weights.Load(vs, path, opts); err != nil {
			return nil, err
		}
		return n, nil
	}
}

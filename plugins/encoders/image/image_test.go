package image

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestDefaultsSchemaAndRegistration: each name has its defaults, its arch
// choices in the schema, and is registered as a built-in encoder that
// describes itself by that name.
func TestDefaultsSchemaAndRegistration(t *testing.T) {
	for _, c := range []struct {
		name     string
		arch     string
		channels int64
		enum     []string
	}{
		{ResNet, "resnet50", 3, []string{"resnet50", "resnet18"}},
		{SmallCNN, "smallcnn", 1, []string{"smallcnn"}},
	} {
		cfg := DefaultConfig(c.name)
		if cfg.Arch != c.arch || cfg.InChannels != c.channels {
			t.Errorf("%s: defaults arch %q, %d channels; want %q, %d", c.name, cfg.Arch, cfg.InChannels, c.arch, c.channels)
		}
		var arch []string
		for _, f := range Schema(c.name).Fields {
			if f.Name == "arch" {
				arch = f.Enum
			}
		}
		if !slices.Equal(arch, c.enum) {
			t.Errorf("%s: schema's arch allows %v, want %v", c.name, arch, c.enum)
		}
		e, ok := builtin.Lookup(c.name)
		if !ok || e.Kind != sdk.KindEncoder {
			t.Fatalf("%s: not a registered built-in encoder (%+v, %v)", c.name, e, ok)
		}
		p := e.New()
		info, err := p.Info(context.Background())
		p.Close()
		if err != nil || info.Name != c.name || info.Kind != sdk.KindEncoder || info.Version != Version {
			t.Errorf("%s: Info = %+v, %v", c.name, info, err)
		}
	}
}

func images(t *testing.T, n int) *sdk.Batch {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	px := make([]float32, n*32*32)
	for i := range px {
		px[i] = float32(r.NormFloat64())
	}
	img, err := tensor.FromFloat32([]int64{int64(n), 1, 32, 32}, px)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = string(rune('a' + i))
	}
	return &sdk.Batch{IDs: ids, Images: img}
}

func configured(t *testing.T, name string, cfg map[string]any) *torchenc.Plugin {
	t.Helper()
	p := New(name)
	t.Cleanup(func() { p.Close() })
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

func featuresOf(t *testing.T, p *torchenc.Plugin, b *sdk.Batch) *tensor.Tensor {
	t.Helper()
	y, err := p.Forward(context.Background(), sdk.ForwardRequest{Batch: b, Output: sdk.OutputFeatures})
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// network is the network weights (the "model/net." tensors) of an
// encoder's state, named as torchvision names them under prefix.
func network(t *testing.T, state []byte, prefix string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Parse(state)
	if err != nil {
		t.Fatal(err)
	}
	net := &safetensors.File{Tensors: map[string]safetensors.Tensor{}}
	for name, x := range f.Tensors {
		if rest, ok := strings.CutPrefix(name, "model/net."); ok {
			net.Tensors[prefix+rest] = x
		}
	}
	return net
}

// write writes f as name in a temporary directory and returns its path.
func write(t *testing.T, name string, f *safetensors.File) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := safetensors.WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestResNetWeightsPrefixAndClassifier: a ResNet-18's network weights, saved
// under a prefix beside a classifier (fc.*) as a torchvision checkpoint
// has, load into an encoder from another seed: weights_prefix is stripped,
// the classifier ignored, and the features (512 per image) are the same.
func TestResNetWeightsPrefixAndClassifier(t *testing.T) {
	ctx := context.Background()
	b := images(t, 2)
	cfg := map[string]any{"arch": "resnet18", "in_channels": 1, "seed": 1}
	a := configured(t, ResNet, cfg)
	state, err := a.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := network(t, state, "backbone.")
	file.Tensors["backbone.fc.weight"] = file.Tensors["backbone.conv1.weight"]
	path := write(t, "resnet18.safetensors", file)
	want := featuresOf(t, a, b)
	if want.Shape[0] != 2 || want.Shape[1] != 512 {
		t.Fatalf("ResNet-18 features of shape %v, want [2 512]", want.Shape)
	}
	other := configured(t, ResNet, map[string]any{"arch": "resnet18", "in_channels": 1, "seed": 9})
	if reflect.DeepEqual(featuresOf(t, other, b), want) {
		t.Fatal("encoders from different seeds agree; the test proves nothing")
	}
	c := configured(t, ResNet, map[string]any{"arch": "resnet18", "in_channels": 1, "seed": 9,
		"weights": path, "weights_prefix": "backbone."})
	if got := featuresOf(t, c, b); !reflect.DeepEqual(got, want) {
		t.Fatal("features differ after loading the same network weights under a prefix")
	}
}

// TestWeights loads torchvision-style names (no "net." prefix) into a fresh
// encoder and checks the features, and that a file missing tensors is named.
func TestWeights(t *testing.T) {
	ctx := context.Background()
	b := images(t, 4)
	a := configured(t, SmallCNN, map[string]any{"seed": 1})
	state, err := a.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	net := network(t, state, "")
	path := write(t, "net.safetensors", net)
	c := configured(t, SmallCNN, map[string]any{"seed": 9, "weights": path})
	if !reflect.DeepEqual(featuresOf(t, a, b), featuresOf(t, c, b)) {
		t.Fatal("features differ after loading the same network weights")
	}

	delete(net.Tensors, "blocks.0.conv.weight")
	bad := write(t, "bad.safetensors", net)
	p := New(SmallCNN)
	defer p.Close()
	err = p.Configure(ctx, map[string]any{"weights": bad})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "blocks.0.conv.weight") {
		t.Fatalf("weights missing a tensor: err = %v, want one naming the file and the tensor", err)
	}
}

// TestBatchWithoutImages: a batch without images is an error saying so.
func TestBatchWithoutImages(t *testing.T) {
	p := configured(t, SmallCNN, map[string]any{"seed": 1})
	_, err := p.Forward(context.Background(), sdk.ForwardRequest{Batch: &sdk.Batch{IDs: []string{"a"}, Texts: []string{"x"}}})
	if err == nil || !strings.Contains(err.Error(), "image encoder: batch has no images") {
		t.Fatalf("got %v", err)
	}
}

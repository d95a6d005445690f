package resnet

import (
	"runtime"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/modeltest"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

func build(t *testing.T, cfg Config) (*nn.VarStore, *Model) {
	t.Helper()
	vs := nn.NewVarStore(gotch.CPU)
	m, err := New(vs.Root(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return vs, m
}

// TestStateDictNames checks the names and counts against torchvision's
// state_dict: resnet18 has 62 parameters and 60 buffers (20 batch norms x
// running_mean, running_var, num_batches_tracked); resnet50 has 161 and 159.
func TestStateDictNames(t *testing.T) {
	cases := []struct {
		arch          Arch
		params, total int
		feat          int64
		names         map[string][]int64
	}{
		{ResNet18, 62, 122, 512, map[string][]int64{
			"conv1.weight":                     {64, 3, 7, 7},
			"bn1.running_var":                  {64},
			"layer1.0.conv1.weight":            {64, 64, 3, 3},
			"layer2.0.downsample.0.weight":     {128, 64, 1, 1},
			"layer2.0.downsample.1.bias":       {128},
			"layer4.1.bn2.num_batches_tracked": {},
			"fc.weight":                        {10, 512},
			"fc.bias":                          {10},
		}},
		{ResNet50, 161, 320, 2048, map[string][]int64{
			"layer1.0.downsample.0.weight": {256, 64, 1, 1},
			"layer1.2.conv3.weight":        {256, 64, 1, 1},
			"layer2.0.conv2.weight":        {128, 128, 3, 3},
			"layer3.5.bn3.running_mean":    {1024},
			"layer4.2.conv3.weight":        {2048, 512, 1, 1},
			"fc.weight":                    {10, 2048},
		}},
	}
	for _, c := range cases {
		vs, m := build(t, Config{Arch: c.arch, NumClasses: 10})
		if m.FeatureDim() != c.feat {
			t.Errorf("%s: FeatureDim %d, want %d", c.arch, m.FeatureDim(), c.feat)
		}
		vars := vs.Variables()
		if len(vars) != c.total {
			t.Errorf("%s: %d variables, want %d", c.arch, len(vars), c.total)
		}
		if n := len(vs.TrainableVariables()); n != c.params {
			t.Errorf("%s: %d trainable, want %d", c.arch, n, c.params)
		}
		for name := range vars {
			if strings.Contains(name, "__") {
				t.Errorf("%s: duplicate-suffixed name %q", c.arch, name)
			}
		}
		for name, shape := range c.names {
			v, ok := vars[name]
			if !ok {
				t.Errorf("%s: missing %s", c.arch, name)
				continue
			}
			got := v.MustSize()
			if len(got) != len(shape) {
				t.Errorf("%s: %s shape %v, want %v", c.arch, name, got, shape)
				continue
			}
			for i := range got {
				if got[i] != shape[i] {
					t.Errorf("%s: %s shape %v, want %v", c.arch, name, got, shape)
					break
				}
			}
		}
		runtime.KeepAlive(vs) // vars holds struct copies of vs's tensors
	}
}

func TestUnknownArch(t *testing.T) {
	vs := nn.NewVarStore(gotch.CPU)
	if _, err := New(vs.Root(), Config{Arch: "resnet34"}); err == nil {
		t.Fatal("want error for unknown arch")
	}
}

// TestTrainStep trains on a fixed batch of four 32x32 grayscale images on
// one thread: the first backward gives every parameter a finite, non-zero
// gradient, and the cross-entropy falls below half its first value (the
// model overfits the batch; a broken layer or optimiser cannot).
func TestTrainStep(t *testing.T) {
	modeltest.OneThread(t)
	for _, arch := range []Arch{ResNet18, ResNet50} {
		t.Run(string(arch), func(t *testing.T) {
			err := torchrt.Pin(func() error {
				torchrt.ManualSeed(1)
				vs, m := build(t, Config{Arch: arch, InChannels: 1, NumClasses: 3})
				opt, err := nn.DefaultAdamConfig().Build(vs, 1e-3)
				if err != nil {
					return err
				}
				x := ts.MustRandn([]int64{4, 1, 32, 32}, gotch.Float, gotch.CPU)
				defer x.MustDrop()
				target := ts.MustOfSlice([]int64{0, 1, 2, 0})
				defer target.MustDrop()
				modeltest.Fits(t, 15, 0.5, func(step int) (float64, error) {
					feat, err := m.Forward(x, true)
					if err != nil {
						return 0, err
					}
					if got := feat.MustSize(); got[0] != 4 || got[1] != m.FeatureDim() {
						t.Fatalf("features %v", got)
					}
					logits, err := m.Logits(feat)
					feat.MustDrop()
					if err != nil {
						return 0, err
					}
					loss := logits.CrossEntropyForLogits(target)
					logits.MustDrop()
					defer loss.MustDrop()
					return modeltest.Step(t, vs, opt, loss, step)
				})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

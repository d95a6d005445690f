package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/weights"
)

// TestTorchSaveWeights: weights as torchvision publishes them, a state
// dict saved with torch.save (.pth), load as they are, and give the same
// features as the same weights converted to .safetensors; a missing file is
// an error saying where to get one and how to convert it.
func TestTorchSaveWeights(t *testing.T) {
	pth := filepath.Join(t.TempDir(), "resnet18.pth")
	script := `import sys, torch, torchvision
torch.manual_seed(5)
m = torchvision.models.resnet18()
m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
torch.save(m.state_dict(), sys.argv[1])`
	cmd := exec.Command("/usr/bin/python3", "-c", script, pth)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torch.save with Debian's python3-torch and python3-torchvision (make setup): %v\n%s", err, out)
	}
	st := filepath.Join(t.TempDir(), "resnet18.safetensors")
	if _, _, err := weights.Convert(pth, st); err != nil {
		t.Fatal(err)
	}
	b := images(t, 2)
	cfg := func(w string) map[string]any {
		c := map[string]any{"arch": "resnet18", "in_channels": 1, "seed": 9}
		if w != "" {
			c["weights"] = w
		}
		return c
	}
	got := featuresOf(t, configured(t, ResNet, cfg(pth)), b)
	if want := featuresOf(t, configured(t, ResNet, cfg(st)), b); !reflect.DeepEqual(got, want) {
		t.Fatal("features from the .pth differ from those of the same weights as .safetensors")
	}
	if reflect.DeepEqual(got, featuresOf(t, configured(t, ResNet, cfg("")), b)) {
		t.Fatal("the .pth weights were not loaded")
	}
	missing := filepath.Join(t.TempDir(), "resnet50-0676ba61.pth")
	p := New(ResNet)
	defer p.Close()
	err := p.Configure(context.Background(), cfg(missing))
	for _, want := range []string{missing, "download.pytorch.org", "convirt weights convert"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("missing weights: err = %v, want one containing %q", err, want)
		}
	}
}

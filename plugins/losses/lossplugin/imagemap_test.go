package lossplugin_test

import (
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func TestImageMapTakesAndChecksTheMap(t *testing.T) {
	m := lossplugin.ImageMap{ImageOutput: sdk.OutputSpatial, ImageDim: 3}
	mk := func(shape ...int64) *tensor.Tensor {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		x, err := tensor.FromFloat32(shape, make([]float32, n))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	good := mk(2, 3, 4, 4)
	got, err := m.Take(sdk.LocalInputs{Image: map[string]*tensor.Tensor{sdk.OutputSpatial: good}})
	if err != nil || got != good {
		t.Fatalf("Take = %v, %v; want the spatial map", got, err)
	}
	for name, tc := range map[string]struct {
		image map[string]*tensor.Tensor
		want  string
	}{
		"missing":       {map[string]*tensor.Tensor{sdk.OutputConv4: good}, "no image spatial output"},
		"not 4-D":       {map[string]*tensor.Tensor{sdk.OutputSpatial: mk(2, 3, 16)}, "want [N 3 H W] (config image_dim)"},
		"wrong channel": {map[string]*tensor.Tensor{sdk.OutputSpatial: mk(2, 5, 4, 4)}, "shape [2 5 4 4]"},
	} {
		if _, err := m.Take(sdk.LocalInputs{Image: tc.image}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Take error %v, want one containing %q", name, err, tc.want)
		}
	}
}

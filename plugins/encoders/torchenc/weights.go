package torchenc

import (
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/tensor"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// LoadWeights copies the tensors of a .safetensors file (torchvision or
// Hugging Face names, after removing strip) into the variables of vs under
// prefix (e.g. "net."). Variables for which optional returns true may be
// absent from the file (a projection head, a classifier), and file tensors
// for which ignore returns true are skipped; every other missing, unexpected
// or mis-shaped tensor is an error, all listed, naming the file, and nothing
// is copied unless all match.
func LoadWeights(vs *nn.VarStore, path, prefix, strip string, optional, ignore func(string) bool) error {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return err
	}
	defer runtime.KeepAlive(vs)
	file := map[string]safetensors.Tensor{}
	for name, t := range f.Tensors {
		file[strings.TrimPrefix(name, strip)] = t
	}
	vars := map[string]ts.Tensor{}
	for name, v := range vs.Variables() {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			vars[rest] = v
		}
	}
	var missing, unexpected, shaped []string
	for name, v := range vars {
		t, ok := file[name]
		switch {
		case !ok:
			if optional == nil || !optional(name) {
				missing = append(missing, name)
			}
		case fmt.Sprint(t.Shape) != fmt.Sprint(v.MustSize()):
			shaped = append(shaped, fmt.Sprintf("%s (file %v, model %v)", name, t.Shape, v.MustSize()))
		}
	}
	for name := range file {
		if _, ok := vars[name]; !ok && (ignore == nil || !ignore(name)) {
			unexpected = append(unexpected, name)
		}
	}
	if len(missing)+len(unexpected)+len(shaped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "weights %s do not fit the model:", path)
		for _, s := range []struct {
			what  string
			names []string
		}{{"missing", missing}, {"unexpected", unexpected}, {"mis-shaped", shaped}} {
			if len(s.names) > 0 {
				sort.Strings(s.names)
				fmt.Fprintf(&b, "\n  %d %s: %s", len(s.names), s.what, strings.Join(s.names, ", "))
			}
		}
		return fmt.Errorf("%s", b.String())
	}
	ts.NoGrad(func() {
		for name, v := range vars {
			t, ok := file[name]
			if !ok {
				continue
			}
			var x *ts.Tensor
			x, err = toTorchST(t, v)
			if err != nil {
				err = fmt.Errorf("weights %s: %s: %w", path, name, err)
				return
			}
			v.Copy_(x)
			x.MustDrop()
		}
	})
	return err
}

func toTorchST(t safetensors.Tensor, like ts.Tensor) (*ts.Tensor, error) {
	var dt tensor.DType
	switch t.DType {
	case "F32":
		dt = tensor.Float32
	case "F64":
		dt = tensor.Float64
	case "I64":
		dt = tensor.Int64
	default:
		return nil, fmt.Errorf("dtype %s not supported (convert to F32)", t.DType)
	}
	return ToTorch(&tensor.Tensor{DType: dt, Shape: t.Shape, Data: t.Data}, like.MustDevice())
}

package smallcnn

import (
	"runtime"
	"testing"

	"github.com/convirt/convirt/plugins/models/modeltest"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// TestTrainStep checks the layout of the variables, then trains on a fixed
// batch on one thread: every trainable parameter gets a finite, non-zero
// gradient and the loss falls below half its first value.
func TestTrainStep(t *testing.T) {
	modeltest.OneThread(t)
	err := torchrt.Pin(func() error {
		torchrt.ManualSeed(2)
		vs := nn.NewVarStore(gotch.CPU)
		m, err := New(vs.Root(), Config{})
		if err != nil {
			return err
		}
		vars := vs.Variables()
		if len(vars) != 5*7 || len(vs.TrainableVariables()) != 5*4 {
			t.Errorf("%d variables, %d trainable; want 35, 20", len(vars), len(vs.TrainableVariables()))
		}
		for _, n := range []string{"blocks.0.conv.weight", "blocks.4.bn.running_var", "blocks.2.conv.bias"} {
			if _, ok := vars[n]; !ok {
				t.Errorf("missing %s", n)
			}
		}
		runtime.KeepAlive(vs)
		opt, err := nn.DefaultAdamConfig().Build(vs, 1e-2)
		if err != nil {
			return err
		}
		x := ts.MustRandn([]int64{4, 1, 64, 64}, gotch.Float, gotch.CPU)
		defer x.MustDrop()
		modeltest.Fits(t, 30, 0.5, func(step int) (float64, error) {
			f, err := m.Forward(x, true)
			if err != nil {
				return 0, err
			}
			if s := f.MustSize(); s[0] != 4 || s[1] != m.FeatureDim() {
				t.Fatalf("features %v", s)
			}
			// Pull the features towards 1: any working model fits this.
			loss := f.MustSubScalar(ts.FloatScalar(1), true).MustSquare(true).MustMean(gotch.Float, true)
			defer loss.MustDrop()
			return modeltest.Step(t, vs, opt, loss, step)
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

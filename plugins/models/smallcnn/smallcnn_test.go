package smallcnn

import (
	"runtime"
	"testing"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

func TestTrainStep(t *testing.T) {
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
		var losses []float64
		for step := 0; step < 4; step++ {
			f, err := m.Forward(x, true)
			if err != nil {
				return err
			}
			if s := f.MustSize(); s[0] != 4 || s[1] != m.FeatureDim() {
				t.Fatalf("features %v", s)
			}
			// Pull the features towards 1: any working step lowers this.
			loss := f.MustSubScalar(ts.FloatScalar(1), true).MustSquare(true).MustMean(gotch.Float, true)
			opt.MustZeroGrad()
			if err := loss.Backward(); err != nil {
				return err
			}
			if step == 0 {
				for _, v := range vs.TrainableVariables() {
					g := v.MustGrad(false)
					if !g.MustDefined() || g.MustAbs(false).MustSum(gotch.Float, true).Float64Values(true)[0] == 0 {
						t.Errorf("parameter %s has no gradient", v.Name())
					}
					g.MustDrop()
				}
			}
			if err := opt.Step(); err != nil {
				return err
			}
			losses = append(losses, loss.Float64Values(true)[0])
		}
		if !(losses[3] < losses[0]) {
			t.Errorf("loss did not fall: %v", losses)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package runs

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestCompare reads each run's params and final metrics, unions their
// keys, and tells a param that differs or is missing from one that agrees.
func TestCompare(t *testing.T) {
	root := t.TempDir()
	var ms []Meta
	for i, p := range []map[string]string{{"lr": "0.1", "seed": "1", "arch": "resnet"}, {"lr": "0.1", "seed": "2"}} {
		r, err := Create(root, "e", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.LogParams(p); err != nil {
			t.Fatal(err)
		}
		for step, v := range []float64{1, 0.5 - 0.1*float64(i)} {
			if err := r.LogMetric("loss", v, int64(step)); err != nil {
				t.Fatal(err)
			}
		}
		if i == 1 {
			if err := r.LogMetric("auc", 0.9, 3); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Finish(Finished); err != nil {
			t.Fatal(err)
		}
		m, err := Find(root, filepath.Base(r.Dir()))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	c, err := Compare(ms)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.ParamKeys, []string{"arch", "lr", "seed"}) || !slices.Equal(c.MetricKeys, []string{"auc", "loss"}) {
		t.Errorf("keys: params %v, metrics %v", c.ParamKeys, c.MetricKeys)
	}
	for k, want := range map[string]bool{"arch": true, "lr": false, "seed": true} {
		if c.ParamDiffers(k) != want {
			t.Errorf("ParamDiffers(%q) = %v, want %v", k, !want, want)
		}
	}
	if c.Finals[0]["loss"].Value != 0.5 || c.Finals[1]["loss"].Value != 0.4 {
		t.Errorf("final losses %v, %v; want the last step's", c.Finals[0]["loss"], c.Finals[1]["loss"])
	}
	if _, ok := c.Finals[0]["auc"]; ok {
		t.Error("run 0 has no auc")
	}
}

func TestKeyMetrics(t *testing.T) {
	final := map[string]Metric{}
	for _, k := range []string{"train/loss", "zeta", "val/AUC", "acc_i2t", "alpha", "eval/precision@10", "f1"} {
		final[k] = Metric{Key: k}
	}
	want := []string{"val/AUC", "acc_i2t", "eval/precision@10", "f1", "train/loss", "alpha", "zeta"}
	if got := KeyMetrics(final); !slices.Equal(got, want) {
		t.Errorf("KeyMetrics = %v, want %v", got, want)
	}
}

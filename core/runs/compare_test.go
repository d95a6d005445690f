package runs

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
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

func TestCompareText(t *testing.T) {
	ms := listingRuns(t)[:3]
	same, err := Compare([]Meta{ms[0], ms[0]})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := same.WriteText(&b, CompareOptions{}); err != nil || !strings.Contains(b.String(), "params that differ (4 equal):\n  (none)\n") {
		t.Errorf("a run against itself (%v):\n%s", err, b.String())
	}
	c, err := Compare(ms)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    string
		all     bool
		want    []string
		wantNot []string
	}{
		{
			name: "headline with changes against the first run",
			want: []string{
				"run         " + ShortID(ms[0].ID),
				"loss.config.tau   0.1", "params that differ (2 equal):", // name and seed agree
				"headline metrics, final values (change against " + ShortID(ms[0].ID) + "):",
				"  val/loss  ", "2.25 (-0.25)", "convirt/f1/auc     0.85 ", "0.9 (+0.05)",
				"(3 more metrics: --filter PATTERN",
			},
			wantNot: []string{"test_examples", ":Edema"},
		},
		{
			name: "filter", opts: "auc:*,test_examples",
			want:    []string{"metrics matching auc:*,test_examples", linearAUC("convirt", "1") + ":Edema", "test_examples", "237 (=)"},
			wantNot: []string{"val/loss", "random"},
		},
		{
			name: "all", all: true,
			want:    []string{"train/loss", "val/loss", "test_examples", "2.35 (-0.25)"},
			wantNot: []string{"more metrics"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParsePatterns(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := c.WriteText(&b, CompareOptions{Filter: f, All: tc.all}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(b.String(), w) {
					t.Errorf("has %q:\n%s", w, b.String())
				}
			}
		})
	}
}

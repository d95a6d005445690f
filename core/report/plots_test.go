package report

import (
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/sdktest"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotutil"
)

// TestLabelEfficiencyOneFraction is issue 24's case: every point at the same
// fraction (one fraction, or the same one twice) gave the log axis a range
// of [0, 2], and the tick loop started at log10(0) and never ended.
func TestLabelEfficiencyOneFraction(t *testing.T) {
	sdktest.Capped(t, 512<<20, func(t *testing.T) {
		dir := t.TempDir()
		cases := map[string][]Series{
			"one.png": {{Name: "ConVIRT", X: []float64{1}, Y: []float64{0.9}, Err: []float64{0.01}}},
			"twice.png": {{Name: "ConVIRT", X: []float64{1, 1}, Y: []float64{0.9, 0.91}},
				{Name: "random", X: []float64{1}, Y: []float64{0.7}}},
			"small.png": {{Name: "ConVIRT", X: []float64{0.01}, Y: []float64{0.5}}},
		}
		for name, s := range cases {
			p := filepath.Join(dir, name)
			if err := LabelEfficiency(p, s, "mean AUC"); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkPNG(t, p)
		}
	})
}

// TestFractionTicksDegenerate calls the tick marker with every range the
// axis could hand it: each call must end with a bounded number of ticks, and
// the usual ranges keep their percentage labels.
func TestFractionTicksDegenerate(t *testing.T) {
	sdktest.Capped(t, 512<<20, func(t *testing.T) {
		inf := math.Inf(1)
		for _, r := range [][2]float64{{0, 2}, {-1, 1}, {0, 0}, {1, 1}, {math.NaN(), 1}, {1, math.NaN()},
			{-inf, inf}, {0, inf}, {5e-324, 1}, {1e-300, 1e300}, {2, 1}} {
			ts := fractionTicks{}.Ticks(r[0], r[1])
			if len(ts) > 1000 {
				t.Errorf("Ticks(%v, %v): %d ticks", r[0], r[1], len(ts))
			}
		}
		if labels := labelsOf(fractionTicks{}.Ticks(0.01, 1)); labels != "1% 10% 100%" {
			t.Errorf("Ticks(0.01, 1) labels %q, want 1%% 10%% 100%%", labels)
		}
		// The axis LabelEfficiency gives a single fraction of 1.
		if got := labelsOf(fractionTicks{}.Ticks(0.5, 2)); !strings.Contains(got, "100%") || strings.Contains(got, "e") {
			t.Errorf("Ticks(0.5, 2) labels %q, want percentages including 100%%", got)
		}
	})
}

// labelsOf joins the non-empty tick labels with spaces.
func labelsOf(ts []plot.Tick) string {
	var labels []string
	for _, tk := range ts {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	return strings.Join(labels, " ")
}

// TestLegendBelowAxes: the legend is drawn in a strip under the axes, not
// over the data: the series' colour (its legend thumbnail) shows in the
// image's bottom rows, where the axes never draw.
func TestLegendBelowAxes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	if err := Loss(path, []Series{{Name: "training loss", X: []float64{0, 1, 2}, Y: []float64{3, 2, 1}}}, Axes{Title: "t", X: "step", Y: "loss"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want := color.NRGBAModel.Convert(plotutil.Color(0)).(color.NRGBA)
	found := false
	b := img.Bounds()
	for y := b.Max.Y - 30; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA); c == want {
				found = true
			}
		}
	}
	if !found {
		t.Error("no legend in the bottom 30 rows: the legend sits over the data")
	}
}

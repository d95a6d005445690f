// Package report draws a run's plots as PNG (loss curves, ROC curves,
// label-efficiency curves) with gonum.org/v1/plot, and writes report.html:
// one self-contained page (images embedded as data URIs, no external
// scripts or styles) that opens offline in a browser.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// Size of every PNG, in pixels (at 96 dpi).
const (
	Width  = 800
	Height = 500
)

// Series is one labelled line: Y against X, with optional symmetric error
// bars Err (e.g. the standard deviation over seeds).
type Series struct {
	Name string
	X, Y []float64
	Err  []float64 // nil or len(X)
}

// Curve is one ROC curve: true positive rate against false positive rate,
// points ordered by threshold. AUC is shown in the legend; NaN means
// compute it from the points (trapezoid rule).
type Curve struct {
	Name     string
	FPR, TPR []float64
	AUC      float64
}

// Loss draws metric-vs-step lines, e.g. train and validation loss.
func Loss(path string, series []Series) error {
	p := plot.New()
	p.Title.Text = "Training curves"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "value"
	if err := addSeries(p, series, false); err != nil {
		return fmt.Errorf("loss plot %s: %w", path, err)
	}
	p.Legend.Left = false
	return save(p, path)
}

// ROC draws ROC curves with their AUC in the legend and the chance diagonal.
func ROC(path string, curves []Curve) error {
	if len(curves) == 0 {
		return fmt.Errorf("roc plot %s: no curves", path)
	}
	p := plot.New()
	p.Title.Text = "ROC"
	p.X.Label.Text = "false positive rate"
	p.Y.Label.Text = "true positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	chance, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	chance.Color = color.Gray{Y: 160}
	chance.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(chance)
	for i, c := range curves {
		if len(c.FPR) != len(c.TPR) || len(c.FPR) < 2 {
			return fmt.Errorf("roc plot %s: curve %q: need matching FPR and TPR with at least 2 points", path, c.Name)
		}
		auc := c.AUC
		if math.IsNaN(auc) {
			auc = AUC(c.FPR, c.TPR)
		}
		l, err := plotter.NewLine(xys(c.FPR, c.TPR))
		if err != nil {
			return fmt.Errorf("roc plot %s: curve %q: %w", path, c.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (AUC %.3f)", c.Name, auc), l)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return save(p, path)
}

// LabelEfficiency draws metric against label fraction on a log x axis, one
// line per initialisation, with error bars from Series.Err. When every point
// has the same fraction (one fraction evaluated, or the same one twice) the
// axis spans a factor of 2 either side of it.
func LabelEfficiency(path string, series []Series, metricName string) error {
	p := plot.New()
	p.Title.Text = metricName + " vs labelled fraction"
	p.X.Label.Text = "fraction of labels"
	p.Y.Label.Text = metricName
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = fractionTicks{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, x := range s.X {
			if x <= 0 {
				return fmt.Errorf("label-efficiency plot %s: series %q: fraction %v is not positive", path, s.Name, x)
			}
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	if err := addSeries(p, series, true); err != nil {
		return fmt.Errorf("label-efficiency plot %s: %w", path, err)
	}
	if lo == hi {
		// gonum widens an empty range to [x-1, x+1], which starts at or
		// below 0 for any fraction: no place on a log axis.
		p.X.Min, p.X.Max = lo/2, hi*2
	}
	return save(p, path)
}

// fractionTicks labels each decade and the usual 1%/10%/100% fractions as
// percentages; a range holding fewer than two decades gets gonum's default
// ticks, labelled as percentages too.
type fractionTicks struct{}

func (fractionTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) || math.IsInf(max, 1) {
		// Not a range a log axis can show (LabelEfficiency never asks for
		// one): no ticks, rather than counting decades up from log10(0).
		return nil
	}
	var ts []plot.Tick
	// At most ~630 decades between the smallest and largest float64.
	for e := int(math.Floor(math.Log10(min))); e <= int(math.Ceil(math.Log10(max))); e++ {
		v := math.Pow(10, float64(e))
		if v >= min*0.999 && v <= max*1.001 {
			ts = append(ts, plot.Tick{Value: v, Label: percent(v)})
		}
	}
	if len(ts) >= 2 {
		return ts
	}
	if min == max {
		return []plot.Tick{{Value: min, Label: percent(min)}}
	}
	ts = plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = percent(ts[i].Value)
		}
	}
	return ts
}

// percent renders a fraction as a percentage: 0.01 -> "1%".
func percent(v float64) string {
	return fmt.Sprintf("%.4g%%", v*100)
}

func addSeries(p *plot.Plot, series []Series, points bool) error {
	if len(series) == 0 {
		return errors.New("no series")
	}
	for i, s := range series {
		if len(s.X) != len(s.Y) || len(s.X) == 0 || (s.Err != nil && len(s.Err) != len(s.X)) {
			return fmt.Errorf("series %q: X, Y (and Err) must have the same non-zero length", s.Name)
		}
		pts := xys(s.X, s.Y)
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		if points {
			sc, _ := plotter.NewScatter(pts)
			sc.Color = plotutil.Color(i)
			sc.Shape = draw.CircleGlyph{}
			p.Add(sc)
		}
		if s.Err != nil {
			eb, err := plotter.NewYErrorBars(errPoints{pts, s.Err})
			if err != nil {
				return fmt.Errorf("series %q: %w", s.Name, err)
			}
			eb.Color = plotutil.Color(i)
			p.Add(eb)
		}
		p.Legend.Add(s.Name, l)
	}
	return nil
}

type errPoints struct {
	plotter.XYs
	err []float64
}

func (e errPoints) YError(i int) (float64, float64) { return e.err[i], e.err[i] }

// xys copies points, sorted by x, dropping non-finite values (a diverged
// loss) so one NaN does not blank the whole plot.
func xys(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, 0, len(x))
	for i := range x {
		if !math.IsNaN(y[i]) && !math.IsInf(y[i], 0) && !math.IsNaN(x[i]) {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
	return pts
}

// AUC is the area under a curve by the trapezoid rule, points sorted by x.
func AUC(x, y []float64) float64 {
	pts := xys(x, y)
	var a float64
	for i := 1; i < len(pts); i++ {
		a += (pts[i].X - pts[i-1].X) * (pts[i].Y + pts[i-1].Y) / 2
	}
	return a
}

// save renders p as a Width x Height PNG and writes it atomically.
func save(p *plot.Plot, path string) error {
	const dpi = 96
	p.Legend.XOffs = -vg.Points(12)
	w := vg.Length(Width) * vg.Inch / dpi
	h := vg.Length(Height) * vg.Inch / dpi
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}

// MetricSeries turns logged metrics into one Series per key (value against
// step), for Loss.
func MetricSeries(ms []runs.Metric, keys ...string) []Series {
	var out []Series
	for _, k := range keys {
		h := runs.History(ms, k)
		if len(h) == 0 {
			continue
		}
		s := Series{Name: k}
		for _, m := range h {
			s.X = append(s.X, float64(m.Step))
			s.Y = append(s.Y, m.Value)
		}
		out = append(out, s)
	}
	return out
}

// LossFromRun draws every metric of a run whose key mentions "loss" (train
// and validation loss) into plots/loss.png; a run without such metrics gets
// no plot.
func LossFromRun(runDir string) error {
	ms, err := runs.ReadMetrics(runDir)
	if err != nil {
		return err
	}
	var keys []string
	for _, k := range runs.Keys(ms) {
		if strings.Contains(k, "loss") {
			keys = append(keys, k)
		}
	}
	s := MetricSeries(ms, keys...)
	if len(s) == 0 {
		return nil
	}
	return Loss(filepath.Join(runDir, runs.PlotsDir, "loss.png"), s)
}

// Package report draws a run's plots as PNG (loss curves, ROC curves,
// label-efficiency curves) with gonum.org/v1/plot, and writes report.html:
// one self-contained page (images embedded as data URIs, no external
// scripts or styles) that opens offline in a browser.
package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/convirt/convirt/core/runs"
)

// Size of every PNG, in pixels (at 96 dpi).
const (
	Width  = 800
	Height = 500
)

// Series is one labelled line: Y against X, with an optional symmetric
// spread Err (the standard deviation over seeds), drawn as a shaded band.
type Series struct {
	Name string
	X, Y []float64
	Err  []float64 // nil or len(X)
	// Reference draws the series dashed with hollow markers and no band:
	// figures quoted from elsewhere (the paper's) beside a run's own,
	// in the colour of the series before it (the same init).
	Reference bool
}

// Curve is one ROC curve: true positive rate against false positive rate,
// points ordered by threshold. AUC is shown in the legend; NaN means
// compute it from the points (trapezoid rule).
type Curve struct {
	Name     string
	FPR, TPR []float64
	AUC      float64
}

// Axes name what a plot's axes show.
type Axes struct{ Title, X, Y string }

// maxMarkers is how many markers a training curve carries at most: enough
// to tell the logged points and the series apart, few enough to keep a
// long run's line readable.
const maxMarkers = 40

// Loss draws metric-vs-step lines (train and validation loss, the learning
// rate) with markers on at most maxMarkers evenly spaced points of each,
// a different shape per series, and the axis names of ax.
func Loss(path string, series []Series, ax Axes) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = ax.Title, ax.X, ax.Y
	lg := newLegend()
	if err := addSeries(p, lg, series, false); err != nil {
		return fmt.Errorf("loss plot %s: %w", path, err)
	}
	for i, s := range series {
		pts := xys(s.X, s.Y)
		if len(pts) == 0 {
			continue
		}
		stride := (len(pts) + maxMarkers - 1) / maxMarkers
		var marks plotter.XYs
		for j := 0; j < len(pts); j += stride {
			marks = append(marks, pts[j])
		}
		if last := pts[len(pts)-1]; marks[len(marks)-1] != last {
			marks = append(marks, last)
		}
		sc, err := plotter.NewScatter(marks)
		if err != nil {
			return fmt.Errorf("loss plot %s: series %q: %w", path, s.Name, err)
		}
		sc.Color, sc.Shape = plotutil.Color(i), plotutil.Shape(i)
		p.Add(sc)
		lg.entries[i].thumbs = append(lg.entries[i].thumbs, sc)
	}
	fitFlatY(p, series)
	return save(p, lg, path)
}

// fitFlatY gives a plot whose finite y values are all one value v (a
// constant learning rate) the range v ± |v|/2, where gonum would widen it to
// v ± 1 and flatten a learning rate of 1e-4 onto zero.
func fitFlatY(p *plot.Plot, series []Series) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, pt := range xys(s.X, s.Y) {
			lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
		}
	}
	if lo == hi && lo != 0 {
		p.Y.Min, p.Y.Max = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
	}
}

// ROC draws ROC curves with their AUC in the legend and the chance diagonal.
func ROC(path string, curves []Curve) error {
	groups := make([]ROCGroup, len(curves))
	for i, c := range curves {
		auc := c.AUC
		if math.IsNaN(auc) && len(c.FPR) == len(c.TPR) {
			auc = AUC(c.FPR, c.TPR)
		}
		groups[i] = ROCGroup{Name: c.Name, Curves: [][2][]float64{{c.FPR, c.TPR}}, Legend: fmt.Sprintf("%s (AUC %.3f)", c.Name, auc)}
	}
	return ROCGroups(path, "ROC", groups)
}

// ROCGroup is one label's ROC curves, one per seed, drawn in one colour.
type ROCGroup struct {
	Name   string
	Curves [][2][]float64 // per seed: FPR, TPR
	Legend string         // the legend's text
}

// ROCGroups draws each group's curves in the group's colour (thin lines
// when a group has several), its legend text once, and the chance
// diagonal.
func ROCGroups(path, title string, groups []ROCGroup) error {
	if len(groups) == 0 {
		return fmt.Errorf("roc plot %s: no curves", path)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "false positive rate (1 - specificity)"
	p.Y.Label.Text = "true positive rate (sensitivity)"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	chance, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	chance.Color = color.Gray{Y: 160}
	chance.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(chance)
	lg := newLegend()
	for i, g := range groups {
		var first *plotter.Line
		for _, c := range g.Curves {
			if len(c[0]) != len(c[1]) || len(c[0]) < 2 {
				return fmt.Errorf("roc plot %s: curve %q: need matching FPR and TPR with at least 2 points", path, g.Name)
			}
			l, err := plotter.NewLine(xys(c[0], c[1]))
			if err != nil {
				return fmt.Errorf("roc plot %s: curve %q: %w", path, g.Name, err)
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.5)
			if len(g.Curves) > 1 {
				l.Width = vg.Points(1)
			}
			p.Add(l)
			if first == nil {
				first = l
			}
		}
		if first != nil {
			lg.add(g.Legend, first)
		}
	}
	return save(p, lg, path)
}

// addSeries adds each series as a line (with markers when points is set,
// and its band from Err) and its legend entry.
func addSeries(p *plot.Plot, lg *legend, series []Series, points bool) error {
	if len(series) == 0 {
		return errors.New("no series")
	}
	i := -1
	for _, s := range series {
		if !s.Reference || i < 0 {
			i++ // a reference shares the colour of the series before it
		}
		if len(s.X) != len(s.Y) || len(s.X) == 0 || (s.Err != nil && len(s.Err) != len(s.X)) {
			return fmt.Errorf("series %q: X, Y (and Err) must have the same non-zero length", s.Name)
		}
		pts := xys(s.X, s.Y)
		if s.Err != nil && !s.Reference {
			poly, err := band(pts, s.X, s.Y, s.Err, plotutil.Color(i))
			if err != nil {
				return fmt.Errorf("series %q: %w", s.Name, err)
			}
			if poly != nil {
				p.Add(poly)
			}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		var sc *plotter.Scatter
		if points {
			sc, _ = plotter.NewScatter(pts)
			sc.Color = plotutil.Color(i)
			sc.Shape = draw.CircleGlyph{}
			p.Add(sc)
		}
		if s.Reference {
			styleReference(l, sc, i)
		}
		if sc != nil {
			lg.add(s.Name, l, sc)
		} else {
			lg.add(s.Name, l)
		}
	}
	return nil
}

// xys copies points, sorted by x, dropping non-finite values (a diverged
// loss) so one NaN does not blank the whole plot.
func xys(x, y []float64) plotter.XYs {
	pts := make(plotter.XYs, 0, len(x))
	for i := range x {
		if !math.IsNaN(y[i]) && !math.IsInf(y[i], 0) && !math.IsNaN(x[i]) {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	sortXY(pts)
	return pts
}

// sortXY orders points by x, keeping the order of equal ones.
func sortXY(pts plotter.XYs) {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
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

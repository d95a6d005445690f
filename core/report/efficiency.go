package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LabelEfficiency draws metric against label fraction on a log x axis, one
// line per initialisation with a marker at each fraction and, from
// Series.Err, a shaded band of ± Err around it (the report passes the
// standard deviation over seeds). A Series with Reference set is drawn
// dashed with hollow markers and no band: the paper's figures beside a
// run's. When every point has the same fraction (one fraction evaluated, or
// the same one twice) the axis spans a factor of 2 either side of it.
func LabelEfficiency(path string, series []Series, metricName string) error {
	p := plot.New()
	p.Title.Text = metricName + " vs fraction of training labels"
	p.X.Label.Text = "fraction of training labels (log scale)"
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
	lg := newLegend()
	if err := addSeries(p, lg, series, true); err != nil {
		return fmt.Errorf("label-efficiency plot %s: %w", path, err)
	}
	if lo == hi {
		// gonum widens an empty range to [x-1, x+1], which starts at or
		// below 0 for any fraction: no place on a log axis.
		p.X.Min, p.X.Max = lo/2, hi*2
	}
	return save(p, lg, path)
}

// band is the shaded area y ± err of pts, or nil when err is all zero (one
// seed) or no point is finite.
func band(pts plotter.XYs, x, y, err []float64, c color.Color) (*plotter.Polygon, error) {
	var upper, lower plotter.XYs
	any := false
	for i := range x {
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) || math.IsNaN(err[i]) {
			continue
		}
		upper = append(upper, plotter.XY{X: x[i], Y: y[i] + err[i]})
		lower = append(lower, plotter.XY{X: x[i], Y: y[i] - err[i]})
		any = any || err[i] != 0
	}
	if !any || len(upper) == 0 {
		return nil, nil
	}
	sortXY(upper)
	sortXY(lower)
	ring := append(plotter.XYs{}, upper...)
	for i := len(lower) - 1; i >= 0; i-- {
		ring = append(ring, lower[i])
	}
	poly, err2 := plotter.NewPolygon(ring)
	if err2 != nil {
		return nil, err2
	}
	r, g, b, _ := c.RGBA()
	poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0x40}
	poly.Width = 0
	return poly, nil
}

// styleReference makes a series the dashed, hollow-marked line of a
// reference (the paper's figures).
func styleReference(l *plotter.Line, sc *plotter.Scatter, i int) {
	l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	if sc != nil {
		sc.Shape = draw.RingGlyph{}
		sc.Radius = vg.Points(4)
		sc.Color = plotutil.Color(i)
	}
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

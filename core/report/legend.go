package report

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// legend collects a plot's legend entries; save draws them in a strip
// under the axes, where they cannot cover a curve (gonum's own legend sits
// inside the data area).
type legend struct{ entries []legendEntry }

type legendEntry struct {
	text   string
	thumbs []plot.Thumbnailer
}

func newLegend() *legend { return &legend{} }

// add appends an entry drawn with the given thumbnails.
func (l *legend) add(text string, thumbs ...plot.Thumbnailer) {
	l.entries = append(l.entries, legendEntry{text: text, thumbs: thumbs})
}

// legendColumns is how many columns the strip lays entries out in.
const legendColumns = 2

// save renders p as a Width x Height PNG, its legend in a strip below the
// axes, and writes it atomically.
func save(p *plot.Plot, lg *legend, path string) error {
	const dpi = 96
	w := vg.Length(Width) * vg.Inch / dpi
	h := vg.Length(Height) * vg.Inch / dpi
	c, err := draw.NewFormattedCanvas(w, h, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	dc := draw.New(c)
	var strip vg.Length
	var legends []plot.Legend
	if lg != nil && len(lg.entries) > 0 {
		cols := min(legendColumns, len(lg.entries))
		rows := (len(lg.entries) + cols - 1) / cols
		for col := range cols {
			gl := plot.NewLegend()
			gl.Top, gl.Left = true, true
			for i := col * rows; i < min((col+1)*rows, len(lg.entries)); i++ {
				gl.Add(lg.entries[i].text, lg.entries[i].thumbs...)
			}
			legends = append(legends, gl)
		}
		row := legends[0].TextStyle.Rectangle("Xg").Max.Y + legends[0].Padding
		strip = vg.Length(rows)*row + vg.Points(12)
	}
	p.Draw(draw.Crop(dc, 0, 0, strip, 0))
	colW := (w - vg.Points(48)) / vg.Length(max(1, len(legends)))
	for i := range legends {
		area := draw.Crop(dc, vg.Points(48)+vg.Length(i)*colW, 0, vg.Points(4), strip-h)
		area.Max.X = area.Min.X + colW
		legends[i].Draw(area)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}

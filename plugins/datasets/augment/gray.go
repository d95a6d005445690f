// Package augment implements the image side of ConVIRT's data pipeline on
// grayscale float images: antialiased resizing, and the paper's
// augmentations (random resized crop, horizontal flip, affine transform,
// brightness and contrast, Gaussian blur), each parameter configurable and
// every random draw taken from a caller-supplied generator so results are
// reproducible.
package augment

import "math"

// Gray is a grayscale image with values nominally in [0,1], row-major.
type Gray struct {
	W, H int
	Pix  []float32
}

// NewGray allocates a black w x h image.
func NewGray(w, h int) Gray { return Gray{W: w, H: h, Pix: make([]float32, w*h)} }

// At returns the pixel at (x,y), 0 outside the image.
func (g Gray) At(x, y int) float32 {
	if x < 0 || y < 0 || x >= g.W || y >= g.H {
		return 0
	}
	return g.Pix[y*g.W+x]
}

// Bilinear samples g at real coordinates (pixel centres at integers),
// returning fill outside the image.
func (g Gray) Bilinear(x, y float64, fill float32) float32 {
	if x < -0.5 || y < -0.5 || x > float64(g.W)-0.5 || y > float64(g.H)-0.5 {
		return fill
	}
	x = math.Max(0, math.Min(x, float64(g.W-1)))
	y = math.Max(0, math.Min(y, float64(g.H-1)))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.W-1), min(y0+1, g.H-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	a := g.Pix[y0*g.W+x0]*(1-fx) + g.Pix[y0*g.W+x1]*fx
	b := g.Pix[y1*g.W+x0]*(1-fx) + g.Pix[y1*g.W+x1]*fx
	return a*(1-fy) + b*fy
}

// Resize resamples g to w x h with a triangle filter widened by the scale
// factor when shrinking (antialiased, like PIL's bilinear resize).
func Resize(g Gray, w, h int) Gray {
	if g.W == w && g.H == h {
		return Gray{W: w, H: h, Pix: append([]float32(nil), g.Pix...)}
	}
	tmp := resample1D(g.Pix, g.W, g.H, w, true)
	return Gray{W: w, H: h, Pix: resample1D(tmp, w, g.H, h, false)}
}

// resample1D resamples along x (horizontal) or y from n to m samples.
func resample1D(src []float32, w, h, m int, horizontal bool) []float32 {
	n := w
	if !horizontal {
		n = h
	}
	scale := float64(n) / float64(m)
	support := math.Max(1, scale)
	type tap struct {
		first int
		wts   []float32
	}
	taps := make([]tap, m)
	for i := range taps {
		c := (float64(i)+0.5)*scale - 0.5
		lo := int(math.Floor(c - support))
		hi := int(math.Ceil(c + support))
		lo, hi = max(lo, 0), min(hi, n-1)
		var ws []float32
		sum := 0.0
		for j := lo; j <= hi; j++ {
			wt := 1 - math.Abs(float64(j)-c)/support
			if wt < 0 {
				wt = 0
			}
			ws = append(ws, float32(wt))
			sum += wt
		}
		if sum == 0 {
			ws = []float32{1}
			lo = min(max(int(math.Round(c)), 0), n-1)
			sum = 1
		}
		for k := range ws {
			ws[k] /= float32(sum)
		}
		taps[i] = tap{lo, ws}
	}
	var out []float32
	if horizontal {
		out = make([]float32, m*h)
		for y := 0; y < h; y++ {
			row := src[y*w : (y+1)*w]
			for i, t := range taps {
				var s float32
				for k, wt := range t.wts {
					s += row[t.first+k] * wt
				}
				out[y*m+i] = s
			}
		}
		return out
	}
	out = make([]float32, w*m)
	for i, t := range taps {
		dst := out[i*w : (i+1)*w]
		for k, wt := range t.wts {
			srow := src[(t.first+k)*w : (t.first+k+1)*w]
			for x := range dst {
				dst[x] += srow[x] * wt
			}
		}
	}
	return out
}

// CenterCrop cuts the central w x h window.
func CenterCrop(g Gray, w, h int) Gray {
	x0, y0 := (g.W-w)/2, (g.H-h)/2
	out := NewGray(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Pix[y*w+x] = g.At(x0+x, y0+y)
		}
	}
	return out
}

// ShorterSide resizes g so its shorter side is s, keeping the aspect ratio.
func ShorterSide(g Gray, s int) Gray {
	if g.W <= g.H {
		return Resize(g, s, max(1, int(math.Round(float64(g.H)*float64(s)/float64(g.W)))))
	}
	return Resize(g, max(1, int(math.Round(float64(g.W)*float64(s)/float64(g.H)))), s)
}

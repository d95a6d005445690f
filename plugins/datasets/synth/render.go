package synth

import (
	"image"
	"math"
	"math/rand/v2"
)

// valueNoise is a smooth random field on [0,1]^2 from a coarse grid.
type valueNoise struct {
	n    int
	grid []float64
}

func newNoise(rng *rand.Rand, n int) valueNoise {
	g := make([]float64, (n+1)*(n+1))
	for i := range g {
		g[i] = rng.Float64()
	}
	return valueNoise{n, g}
}

func (v valueNoise) at(u, w float64) float64 {
	x, y := u*float64(v.n), w*float64(v.n)
	x0, y0 := min(max(int(x), 0), v.n-1), min(max(int(y), 0), v.n-1)
	fx, fy := x-float64(x0), y-float64(y0)
	s := v.n + 1
	a := v.grid[y0*s+x0]*(1-fx) + v.grid[y0*s+x0+1]*fx
	b := v.grid[(y0+1)*s+x0]*(1-fx) + v.grid[(y0+1)*s+x0+1]*fx
	return a*(1-fy) + b*fy
}

// lung is one lung field ellipse in image coordinates.
type lung struct{ cx, cy, a, b float64 }

func (l lung) dist(u, v float64) float64 {
	du, dv := (u-l.cx)/l.a, (v-l.cy)/l.b
	return du*du + dv*dv
}

// lungOf returns the lung on the patient's side s (right = image left).
func lungOf(ls [2]lung, s Side) lung {
	if s == Right {
		return ls[0]
	}
	return ls[1]
}

// RenderChest draws a frontal chest radiograph of side size with the
// findings f: torso, lung fields with markings, ribs, mediastinum, heart,
// diaphragm, noise and a random exposure (brightness and contrast).
func RenderChest(rng *rand.Rand, size int, f Findings) *image.Gray {
	j := func(s float64) float64 { return (rng.Float64()*2 - 1) * s }
	torsoA, torsoB := 0.43+j(0.03), 0.55+j(0.03)
	ls := [2]lung{{0.31 + j(0.015), 0.46 + j(0.02), 0.14 + j(0.01), 0.29 + j(0.02)},
		{0.69 + j(0.015), 0.46 + j(0.02), 0.14 + j(0.01), 0.29 + j(0.02)}}
	heartA, heartB := 0.105+j(0.008), 0.115+j(0.008)
	if f.Cardiomegaly {
		heartA *= 1.25 + 0.45*f.CardioSeverity
		heartB *= 1.1 + 0.2*f.CardioSeverity
	}
	heartX, heartY := 0.54+j(0.01)+(heartA-0.105)*0.5, 0.64+j(0.01)
	markings, texture := newNoise(rng, 12), newNoise(rng, 5)
	ribPhase, ribSpace := j(0.01), 0.062+j(0.004)
	gain, bias := 0.8+0.45*rng.Float64(), j(0.07)
	noise := 0.02 + 0.02*rng.Float64()

	var consX, consY, consR float64
	if f.Consolidation {
		l := lungOf(ls, Side(f.ConsZone%2))
		consX, consY = l.cx+j(0.03), l.cy-0.13+0.26*float64(f.ConsZone/2)
		consR = 0.045 + 0.05*f.ConsSize
	}
	var nodX, nodY, nodR float64
	if f.Nodule {
		l := lungOf(ls, f.NoduleSide)
		nodX, nodY = l.cx+l.a*(2*f.NoduleX-1)*0.6, l.cy+l.b*(2*f.NoduleY-1)*0.6
		nodR = 0.022 + 0.022*f.NoduleSize
	}

	return paint(size, func(u, v float64) float64 {
		val := 0.04
		tu, tv := (u-0.5)/torsoA, (v-0.62)/torsoB
		if tu*tu+tv*tv < 1 {
			val = 0.42 + 0.06*texture.at(u, v)
			if v > 0.8 {
				val = 0.52
			}
		}
		for side, l := range ls {
			d := l.dist(u, v)
			if d >= 1 {
				continue
			}
			val = 0.15 + 0.09*markings.at(u, v) + 0.05*(1-d)
			// Posterior ribs: bands that curve down laterally.
			lat := (u - l.cx) / l.a
			if side == 0 {
				lat = -lat
			}
			rv := v - 0.03*lat*lat - ribPhase
			if math.Mod(rv+1, ribSpace) < ribSpace*0.38 {
				val += 0.07
			}
			if f.Pneumothorax && Side(side) == lungOf2(f.PTXSide) && v < l.cy+0.5*l.b {
				rim := 1 - (0.3 + 0.4*f.PTXSize)
				// Lateral and apical rim: distance measured from a point
				// shifted medially so the collapsed lung hugs the heart.
				if lat > -0.4 && d > rim*rim {
					val = 0.05 + 0.02*texture.at(u, v)
				} else if lat > -0.4 && d > (rim-0.05)*(rim-0.05) {
					val = 0.33
				}
			}
			if f.Effusion && Side(side) == lungOf2(f.EffusionSide) {
				thr := l.cy + l.b*(0.85-0.75*f.EffusionSize) - 0.06*lat
				if v > thr {
					val = 0.56 + 0.04*texture.at(u, v)
				}
			}
		}
		if math.Abs(u-0.5) < 0.045 && v > 0.08 && v < 0.95 {
			val = math.Max(val, 0.6)
		}
		hu, hv := (u-heartX)/heartA, (v-heartY)/heartB
		if hu*hu+hv*hv < 1 {
			val = math.Max(val, 0.6+0.04*texture.at(u, v))
		}
		if v > 0.78 && math.Abs(u-0.5) < torsoA*0.85 {
			val = math.Max(val, 0.52) // diaphragm and abdomen
		}
		if f.Consolidation {
			d2 := ((u-consX)*(u-consX) + (v-consY)*(v-consY)) / (consR * consR)
			val += 0.38 * math.Exp(-d2) * (0.7 + 0.6*markings.at(u*2, v*2))
		}
		if f.COVIDPattern {
			for _, l := range ls {
				if d := l.dist(u, v); d < 1 && d > 0.45 && v > l.cy-0.1 {
					val += 0.16 * (0.5 + markings.at(u*3, v*3))
				}
			}
		}
		if f.Nodule {
			d2 := ((u-nodX)*(u-nodX) + (v-nodY)*(v-nodY)) / (nodR * nodR)
			if d2 < 1.5 {
				val = math.Max(val, 0.62*math.Min(1, 1.5-d2)+val*(1-math.Min(1, 1.5-d2)))
			}
		}
		return gain*(val-0.4) + 0.4 + bias + rng.NormFloat64()*noise
	})
}

// lungOf2 maps a patient side to the index of its lung in image order.
func lungOf2(s Side) Side {
	if s == Right {
		return 0
	}
	return 1
}

// RenderLateral draws a lateral view: one lung field, the heart in front,
// the spine behind, with cardiomegaly and effusion visible.
func RenderLateral(rng *rand.Rand, size int, f Findings) *image.Gray {
	markings := newNoise(rng, 10)
	heartA := 0.13
	if f.Cardiomegaly {
		heartA *= 1.2 + 0.4*f.CardioSeverity
	}
	gain := 0.8 + 0.4*rng.Float64()
	return paint(size, func(u, v float64) float64 {
		val := 0.04
		if tu, tv := (u-0.5)/0.4, (v-0.6)/0.55; tu*tu+tv*tv < 1 {
			val = 0.45
		}
		if lu, lv := (u-0.5)/0.28, (v-0.47)/0.32; lu*lu+lv*lv < 1 {
			val = 0.17 + 0.1*markings.at(u, v)
			if f.Effusion && v > 0.47+0.32*(0.8-0.6*f.EffusionSize) && u > 0.55 {
				val = 0.55
			}
		}
		if hu, hv := (u-0.38)/heartA, (v-0.62)/0.14; hu*hu+hv*hv < 1 {
			val = 0.58
		}
		if u > 0.78 && u < 0.86 {
			val = math.Max(val, 0.62)
		}
		return gain*(val-0.4) + 0.4 + rng.NormFloat64()*0.025
	})
}

// paint renders a size x size image row by row, left to right: the
// intensity of each pixel is pixel(u, v) at its centre (u, v in [0, 1],
// u across, v down), clamped to [0, 1].
func paint(size int, pixel func(u, v float64) float64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, size, size))
	for y := range size {
		v := (float64(y) + 0.5) / float64(size)
		for x := range size {
			u := (float64(x) + 0.5) / float64(size)
			img.Pix[y*img.Stride+x] = uint8(math.Round(255 * math.Min(1, math.Max(0, pixel(u, v)))))
		}
	}
	return img
}

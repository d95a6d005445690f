package augment

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Config holds every augmentation parameter. Zero-width ranges disable a
// step; Default gives the paper's values.
type Config struct {
	// CropScale is the area fraction range of the random resized crop.
	CropScale [2]float64 `json:"crop_scale" min:"0" max:"1" doc:"area fraction range [lo, hi] of the random resized crop"`
	// CropRatio is the aspect-ratio range of the crop (log-uniform).
	CropRatio [2]float64 `json:"crop_ratio" min:"0" doc:"aspect-ratio range [lo, hi] of the crop (log-uniform)"`
	// Flip switches the horizontal flip on; FlipP is its probability. Off
	// where reports name sides, as in the demo.
	Flip  bool    `json:"flip" doc:"horizontal flip (off by default: reports name sides)"`
	FlipP float64 `json:"flip_p" min:"0" max:"1" doc:"probability of the flip"`
	// Rotation is the maximum absolute rotation in degrees.
	Rotation float64 `json:"rotation" min:"0" doc:"maximum absolute rotation in degrees"`
	// Translate is the maximum shift as a fraction of the image side.
	Translate float64 `json:"translate" min:"0" max:"1" doc:"maximum shift as a fraction of the image side"`
	// Scale is the affine zoom range.
	Scale [2]float64 `json:"scale" min:"0" doc:"affine zoom range [lo, hi]"`
	// Brightness and Contrast are factor ranges (1 = unchanged).
	Brightness [2]float64 `json:"brightness" min:"0" doc:"brightness factor range [lo, hi] (1 = unchanged)"`
	Contrast   [2]float64 `json:"contrast" min:"0" doc:"contrast factor range [lo, hi] (1 = unchanged)"`
	// BlurSigma is the Gaussian blur sigma range in pixels of the output;
	// BlurP its probability; BlurKernel its odd kernel size (0: the odd size
	// nearest 10% of the output side, at least 3).
	BlurSigma  [2]float64 `json:"blur_sigma" min:"0" doc:"Gaussian blur sigma range [lo, hi] in output pixels"`
	BlurP      float64    `json:"blur_p" min:"0" max:"1" doc:"probability of the blur"`
	BlurKernel int        `json:"blur_kernel" min:"0" doc:"odd blur kernel size; 0: the odd size nearest 10% of the output side, at least 3"`
}

// Default returns the paper's augmentation (flip off; see Config.Flip).
func Default() Config {
	return Config{
		CropScale: [2]float64{0.6, 1.0}, CropRatio: [2]float64{3.0 / 4, 4.0 / 3},
		FlipP: 0.5, Rotation: 20, Translate: 0.1, Scale: [2]float64{0.95, 1.05},
		Brightness: [2]float64{0.6, 1.4}, Contrast: [2]float64{0.6, 1.4},
		BlurSigma: [2]float64{0.1, 3.0}, BlurP: 1,
	}
}

// Validate checks the bounds in Config's tags (schema.Validate), that each
// range is [lo, hi] with lo <= hi, and that a blur kernel is odd.
func (c Config) Validate() error {
	if err := schema.ValidateAs("augment", c); err != nil {
		return err
	}
	for name, r := range map[string][2]float64{"crop_scale": c.CropScale, "crop_ratio": c.CropRatio,
		"scale": c.Scale, "brightness": c.Brightness, "contrast": c.Contrast, "blur_sigma": c.BlurSigma} {
		if r[0] > r[1] || r[0] < 0 {
			return fmt.Errorf("augment: %s range %v is not [lo, hi] with 0 <= lo <= hi", name, r)
		}
	}
	if c.BlurKernel > 0 && c.BlurKernel%2 == 0 {
		return fmt.Errorf("augment: blur_kernel %d must be odd", c.BlurKernel)
	}
	return nil
}

func uniform(rng *rand.Rand, r [2]float64) float64 { return r[0] + (r[1]-r[0])*rng.Float64() }

// Apply produces a size x size augmented view of g. The crop, flip and
// affine steps are composed into one inverse mapping and sampled once
// (bilinear, black fill), after an antialiased pre-shrink of large inputs.
func Apply(g Gray, size int, c Config, rng *rand.Rand) Gray {
	// Pre-shrink so the smallest crop still samples about one source pixel
	// per output pixel.
	if work := int(math.Ceil(float64(size) / math.Sqrt(math.Max(c.CropScale[0], 0.05)))); min(g.W, g.H) > work {
		g = ShorterSide(g, work)
	}
	cx, cy, cw, ch := cropBox(g, c, rng)
	flip := c.Flip && rng.Float64() < c.FlipP
	angle := uniform(rng, [2]float64{-c.Rotation, c.Rotation}) * math.Pi / 180
	maxT := c.Translate * float64(size)
	tx := math.Round(uniform(rng, [2]float64{-maxT, maxT}))
	ty := math.Round(uniform(rng, [2]float64{-maxT, maxT}))
	sc := uniform(rng, c.Scale)
	if sc <= 0 {
		sc = 1
	}
	bright, contrast := uniform(rng, c.Brightness), uniform(rng, c.Contrast)
	blur := rng.Float64() < c.BlurP
	sigma := uniform(rng, c.BlurSigma)

	out := NewGray(size, size)
	half := float64(size-1) / 2
	cos, sin := math.Cos(angle), math.Sin(angle)
	for v := 0; v < size; v++ {
		for u := 0; u < size; u++ {
			// Inverse affine about the centre.
			dx, dy := float64(u)-half-tx, float64(v)-half-ty
			px := (cos*dx+sin*dy)/sc + half
			py := (-sin*dx+cos*dy)/sc + half
			if flip {
				px = float64(size-1) - px
			}
			// Crop box: output pixel centres to source coordinates.
			sx := cx + (px+0.5)*cw/float64(size) - 0.5
			sy := cy + (py+0.5)*ch/float64(size) - 0.5
			out.Pix[v*size+u] = g.Bilinear(sx, sy, 0)
		}
	}
	Adjust(out, bright, contrast)
	if blur && sigma > 0 {
		k := c.BlurKernel
		if k == 0 {
			k = max(3, size/10|1)
		}
		out = Blur(out, sigma, k)
	}
	return out
}

// cropBox draws a random resized crop as torchvision does: ten tries at a
// random area and log-uniform aspect ratio, then the central crop.
func cropBox(g Gray, c Config, rng *rand.Rand) (x, y, w, h float64) {
	W, H := float64(g.W), float64(g.H)
	area := W * H
	lr := [2]float64{math.Log(math.Max(c.CropRatio[0], 1e-3)), math.Log(math.Max(c.CropRatio[1], 1e-3))}
	for range 10 {
		a := area * uniform(rng, c.CropScale)
		r := math.Exp(uniform(rng, lr))
		w, h = math.Round(math.Sqrt(a*r)), math.Round(math.Sqrt(a/r))
		if w > 0 && h > 0 && w <= W && h <= H {
			return math.Floor(rng.Float64() * (W - w + 1)), math.Floor(rng.Float64() * (H - h + 1)), w, h
		}
	}
	w, h = W, H
	return 0, 0, w, h
}

// Adjust multiplies brightness, then blends towards the image mean by the
// contrast factor (torchvision's definitions), clamping to [0,1].
func Adjust(g Gray, brightness, contrast float64) {
	var mean float64
	for i, v := range g.Pix {
		v = clamp(v * float32(brightness))
		g.Pix[i] = v
		mean += float64(v)
	}
	mean /= float64(max(1, len(g.Pix)))
	for i, v := range g.Pix {
		g.Pix[i] = clamp(float32(mean) + (v-float32(mean))*float32(contrast))
	}
}

func clamp(v float32) float32 { return min(max(v, 0), 1) }

// Blur applies a separable Gaussian blur with an odd kernel, reflecting at
// the borders.
func Blur(g Gray, sigma float64, k int) Gray {
	r := k / 2
	wts := make([]float32, k)
	var sum float32
	for i := range wts {
		d := float64(i - r)
		wts[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += wts[i]
	}
	for i := range wts {
		wts[i] /= sum
	}
	reflect := func(i, n int) int {
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
			if n == 1 {
				return 0
			}
		}
		return i
	}
	tmp, out := NewGray(g.W, g.H), NewGray(g.W, g.H)
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			var s float32
			for i, w := range wts {
				s += w * g.Pix[y*g.W+reflect(x+i-r, g.W)]
			}
			tmp.Pix[y*g.W+x] = s
		}
	}
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			var s float32
			for i, w := range wts {
				s += w * tmp.Pix[reflect(y+i-r, g.H)*g.W+x]
			}
			out.Pix[y*g.W+x] = s
		}
	}
	return out
}

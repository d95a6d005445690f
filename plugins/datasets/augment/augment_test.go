package augment

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func ramp(w, h int) Gray {
	g := NewGray(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Pix[y*w+x] = float32(x) / float32(w-1)
		}
	}
	return g
}

func TestApplyDeterministic(t *testing.T) {
	g := ramp(100, 80)
	c := Default()
	c.Flip = true
	a := Apply(g, 32, c, rand.New(rand.NewPCG(1, 2)))
	b := Apply(g, 32, c, rand.New(rand.NewPCG(1, 2)))
	d := Apply(g, 32, c, rand.New(rand.NewPCG(1, 3)))
	same, diff := true, false
	for i := range a.Pix {
		same = same && a.Pix[i] == b.Pix[i]
		diff = diff || a.Pix[i] != d.Pix[i]
		if a.Pix[i] < 0 || a.Pix[i] > 1 || math.IsNaN(float64(a.Pix[i])) {
			t.Fatalf("pixel %d = %v", i, a.Pix[i])
		}
	}
	if !same || !diff {
		t.Fatalf("same seed equal=%v, other seed differs=%v", same, diff)
	}
}

func TestIdentityConfigIsResize(t *testing.T) {
	g := ramp(32, 32)
	c := Config{CropScale: [2]float64{1, 1}, CropRatio: [2]float64{1, 1}, Scale: [2]float64{1, 1},
		Brightness: [2]float64{1, 1}, Contrast: [2]float64{1, 1}}
	out := Apply(g, 32, c, rand.New(rand.NewPCG(0, 0)))
	for i := range g.Pix {
		if math.Abs(float64(out.Pix[i]-g.Pix[i])) > 1e-5 {
			t.Fatalf("pixel %d: %v vs %v", i, out.Pix[i], g.Pix[i])
		}
	}
	c.Flip, c.FlipP = true, 1
	out = Apply(g, 32, c, rand.New(rand.NewPCG(0, 0)))
	if math.Abs(float64(out.Pix[0]-1)) > 1e-5 || out.Pix[31] > 1e-5 {
		t.Fatalf("flip: first row %v ... %v", out.Pix[0], out.Pix[31])
	}
}

func TestResizeAntialias(t *testing.T) {
	g := NewGray(64, 64)
	for i := range g.Pix { // checkerboard averages to 0.5 when shrunk
		if (i%64+i/64)%2 == 0 {
			g.Pix[i] = 1
		}
	}
	s := Resize(g, 8, 8)
	for _, v := range s.Pix {
		if math.Abs(float64(v)-0.5) > 0.05 {
			t.Fatalf("aliased: %v", v)
		}
	}
	if c := ShorterSide(NewGray(200, 100), 50); c.W != 100 || c.H != 50 {
		t.Fatalf("shorter side: %dx%d", c.W, c.H)
	}
}

func TestBlurAndAdjust(t *testing.T) {
	g := NewGray(9, 9)
	g.Pix[40] = 1
	b := Blur(g, 1, 5)
	var s float32
	for _, v := range b.Pix {
		s += v
	}
	if math.Abs(float64(s)-1) > 1e-4 || b.Pix[40] >= 1 || b.Pix[40] <= b.Pix[41] {
		t.Fatalf("blur sum %v centre %v", s, b.Pix[40])
	}
	Adjust(b, 1, 0)
	if b.Pix[0] != b.Pix[40] {
		t.Fatal("zero contrast should flatten the image")
	}
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Default()
	bad.BlurKernel = 4
	if bad.Validate() == nil {
		t.Fatal("even kernel accepted")
	}
}

// TestValidateBounds checks that the bounds in Config's tags are enforced
// and named (schema.Validate), besides the written [lo, hi] and odd-kernel
// rules.
func TestValidateBounds(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"flip_p: value 1.5 is out of range [0, 1]":       func(c *Config) { c.FlipP = 1.5 },
		"crop_scale.1: value 1.2 is out of range [0, 1]": func(c *Config) { c.CropScale[1] = 1.2 },
		"blur_kernel: value -1 is out of range >= 0":     func(c *Config) { c.BlurKernel = -1 },
		"brightness range [1.4 0.6] is not [lo, hi]":     func(c *Config) { c.Brightness = [2]float64{1.4, 0.6} },
	} {
		c := Default()
		mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate: %v, want an error containing %q", err, name)
		}
	}
}

package adam

import (
	"encoding/json"
	"math"
	"testing"
)

// TestUpdate: the first steps of Adam on one parameter, against the
// formula written out (Kingma and Ba, algorithm 1).
func TestUpdate(t *testing.T) {
	c := Config{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	p, m, v := 1.0, 0.0, 0.0
	wantP, wantM, wantV := 1.0, 0.0, 0.0
	b1, b2, lr := 0.9, 0.999, 0.1 // variables, so that the arithmetic is float64's
	for step, g := range []float64{0.5, -0.25, 2} {
		tt := float64(step + 1)
		wantM = b1*wantM + (1-b1)*g
		wantV = b2*wantV + (1-b2)*g*g
		wantP -= lr * (wantM / (1 - math.Pow(b1, tt))) / (math.Sqrt(wantV/(1-math.Pow(b2, tt))) + 1e-8)
		p = c.At(int64(step+1)).Update(p, g, &m, &v)
		if p != wantP || m != wantM || v != wantV {
			t.Fatalf("step %d: p %v m %v v %v, want %v %v %v", step+1, p, m, v, wantP, wantM, wantV)
		}
	}
	// The first step of Adam moves by about LR whatever the gradient's size.
	p, m, v = 0, 0, 0
	if p = c.At(1).Update(p, 1000, &m, &v); math.Abs(p+0.1) > 1e-9 {
		t.Errorf("first step from 0 with gradient 1000: %v, want about -0.1", p)
	}
}

// TestStateJSON: embedded in a plugin's state, the keys sit beside the
// plugin's own, in order.
func TestStateJSON(t *testing.T) {
	st := struct {
		Version int     `json:"version"`
		X       float64 `json:"x"`
		State[[]float64]
	}{Version: 1, X: 2, State: State[[]float64]{Grad: []float64{3}, Pending: true, M: []float64{4}, V: []float64{5}, Steps: 6}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":1,"x":2,"grad":[3],"pending":true,"adam_m":[4],"adam_v":[5],"steps":6}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

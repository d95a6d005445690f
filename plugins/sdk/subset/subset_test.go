package subset

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func data(n int) [][]float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([][]float32, n)
	for i := range out {
		out[i] = []float32{0, 0, 0}
		if rng.Float64() < 0.3 {
			out[i][0] = 1
		}
		if rng.Float64() < 0.01 {
			out[i][1] = 1
		}
		if rng.Float64() < 0.2 {
			out[i][2] = float32(math.NaN())
		}
	}
	return out
}

func TestStratified(t *testing.T) {
	l := data(1000)
	a, err := Stratified(l, 0.01, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Stratified(l, 0.01, 3)
	c, _ := Stratified(l, 0.01, 4)
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Fatal("subset must depend on the seed only")
	}
	if len(a) < 10 || len(a) > 12 {
		t.Fatalf("1%% of 1000 gave %d", len(a))
	}
	var pos0, pos1 int
	for _, i := range a {
		pos0 += int(l[i][0])
		if l[i][1] == 1 {
			pos1++
		}
	}
	if pos1 < 1 || pos0 < 2 {
		t.Fatalf("positives: label0 %d label1 %d", pos0, pos1)
	}
	all, _ := Stratified(l, 1, 0)
	if len(all) != 1000 {
		t.Fatal("100% is not everything")
	}
	if _, err := Stratified(l, 0, 0); err == nil {
		t.Fatal("fraction 0 accepted")
	}
}

func TestBinaryKeepsBothClasses(t *testing.T) {
	l := make([][]float32, 500)
	for i := range l {
		l[i] = []float32{1}
	}
	l[17] = []float32{0}
	s, _ := Stratified(l, 0.01, 1)
	found := false
	for _, i := range s {
		found = found || i == 17
	}
	if !found {
		t.Fatal("the only negative was left out")
	}
}

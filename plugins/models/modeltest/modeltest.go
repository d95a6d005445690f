// Package modeltest holds the checks the model tests share: a model learns
// (the loss on a fixed batch falls by a wide margin, not by a sign that
// reduction order could flip) and every trainable parameter receives a
// finite, non-zero gradient. It runs libtorch on one thread so that a test's
// numbers do not depend on the machine's core count.
package modeltest

import (
	"fmt"
	"math"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/convirt/convirt/plugins/models/torchrt"
)

// OneThread sets libtorch's intra-op threads to one for the rest of the
// test and restores the previous count after it.
func OneThread(t testing.TB) {
	t.Helper()
	prev := torchrt.NumThreads()
	if err := torchrt.SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = torchrt.SetNumThreads(prev) })
}

// Fits runs step (one optimiser step on a fixed batch, returning that
// step's loss, or the loss to judge) steps times and fails the test unless
// the final loss is below ratio times the first: a model that learns
// overfits a fixed batch by far more than reduction-order noise, so ratio
// is a margin (0.5 halves the loss), not a coin toss on the sign of a small
// change.
func Fits(t testing.TB, steps int, ratio float64, step func(i int) (float64, error)) []float64 {
	t.Helper()
	losses := make([]float64, 0, steps)
	for i := 0; i < steps; i++ {
		l, err := step(i)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if math.IsNaN(l) || math.IsInf(l, 0) {
			t.Fatalf("step %d: loss %v", i, l)
		}
		losses = append(losses, l)
	}
	t.Logf("losses: %.4g", losses)
	if first, last := losses[0], losses[len(losses)-1]; !(last < ratio*first) {
		t.Errorf("loss did not fall to %.2g of its first value in %d steps: %.4g -> %.4g (all: %.4g)", ratio, steps, first, last, losses)
	}
	return losses
}

// Gradients checks that every trainable variable of vs holds a defined,
// finite gradient that is not all zero (call it after backward, before
// zeroing). It returns the names of the variables that fail.
func Gradients(vs *nn.VarStore) ([]string, error) {
	var bad []string
	for name, v := range vs.Variables() {
		if !v.MustRequiresGrad() {
			continue
		}
		g, err := v.Grad(false)
		if err != nil {
			return nil, fmt.Errorf("gradient of %s: %w", name, err)
		}
		ok := g.MustDefined()
		if ok {
			abs := g.MustAbs(false)
			sum := abs.MustSum(gotch.Double, true)
			s := sum.Float64Values(true)[0]
			ok = s > 0 && !math.IsNaN(s) && !math.IsInf(s, 0)
		}
		g.MustDrop()
		if !ok {
			bad = append(bad, name)
		}
	}
	return bad, nil
}

// Step is one optimiser step on loss for Fits: it zeroes the gradients,
// back-propagates, checks (Gradients) that every trainable variable of vs
// got a finite, non-zero gradient when step is 0, steps opt and returns the
// loss's value.
func Step(t testing.TB, vs *nn.VarStore, opt *nn.Optimizer, loss *ts.Tensor, step int) (float64, error) {
	t.Helper()
	if err := opt.ZeroGrad(); err != nil {
		return 0, err
	}
	if err := loss.Backward(); err != nil {
		return 0, err
	}
	if step == 0 {
		bad, err := Gradients(vs)
		if err != nil {
			return 0, err
		}
		if len(bad) > 0 {
			t.Errorf("no finite non-zero gradient for %v", bad)
		}
	}
	if err := opt.Step(); err != nil {
		return 0, err
	}
	return loss.Float64Values(false)[0], nil
}

package train

import (
	"fmt"
	"math"
)

// ChanceRule decides when a training loss is "still at chance". A
// contrastive loss over a batch of N pairs (InfoNCE in either direction, or
// a weighted sum of both, as ConVIRT and CLIP) is ln N when the embeddings
// tell the pairs apart no better than guessing; a loss that has not gone
// below that after a warm-up means the encoders are not learning (a
// learning rate too small or too large, a pairing bug, a temperature stuck).
// The rule looks once, when the warm-up ends, at the mean loss of the last
// Window steps, so that one noisy step neither raises nor hides it.
type ChanceRule struct {
	// Warmup is the step at which the loss is checked; 0 means
	// DefaultChance's, < 0 turns the check off.
	Warmup int
	// Window is how many steps up to Warmup are averaged (at most Warmup);
	// 0 means DefaultChance's.
	Window int
	// Tolerance is how far below ln N, relative to it, the mean loss must
	// be to count as learning; 0 means DefaultChance's.
	Tolerance float64
}

// DefaultChance checks the mean loss of steps 181-200 against ln N - 5%.
var DefaultChance = ChanceRule{Warmup: 200, Window: 20, Tolerance: 0.05}

// withDefaults fills the zero fields from DefaultChance.
func (r ChanceRule) withDefaults() ChanceRule {
	if r.Warmup == 0 {
		r.Warmup = DefaultChance.Warmup
	}
	if r.Window == 0 {
		r.Window = DefaultChance.Window
	}
	if r.Tolerance == 0 {
		r.Tolerance = DefaultChance.Tolerance
	}
	r.Window = max(1, min(r.Window, r.Warmup))
	return r
}

// AtChance reports whether a (mean) loss over batches of batch pairs is
// still at chance: not below ln(batch) by the rule's relative tolerance.
func (r ChanceRule) AtChance(loss float64, batch int) bool {
	r = r.withDefaults()
	if batch < 2 || math.IsNaN(loss) {
		return false
	}
	return loss >= math.Log(float64(batch))*(1-r.Tolerance)
}

// chanceWatch applies the rule to the loop's losses and warns once.
type chanceWatch struct {
	recent []float64 // the losses of the window up to the warm-up step
	warned bool
}

// observe takes the loss of step l.st.Step.
func (w *chanceWatch) observe(l *loop, loss float64) {
	r := l.cfg.Chance.withDefaults()
	if r.Warmup < 0 || w.warned || l.st.Step > r.Warmup || l.st.Step <= r.Warmup-r.Window {
		return
	}
	w.recent = append(w.recent, loss)
	if l.st.Step < r.Warmup {
		return
	}
	mean := 0.0
	for _, v := range w.recent {
		mean += v
	}
	mean /= float64(len(w.recent))
	if !r.AtChance(mean, l.cfg.BatchSize) {
		return
	}
	w.warned = true
	if l.p.Warn != nil {
		l.p.Warn(fmt.Sprintf("the training loss is still at chance at step %d: %.4f (mean of the last %d steps), ln(batch size %d) = %.4f; "+
			"the encoders are not telling the pairs apart yet (check the learning rate, the image-text pairing and the loss's temperature)",
			l.st.Step, mean, len(w.recent), l.cfg.BatchSize, math.Log(float64(l.cfg.BatchSize))))
	}
}

// describe is the progress text: epoch, the step's loss, the latest
// validation loss, the learning rate.
func (l *loop) describe() string {
	s := fmt.Sprintf("epoch %d loss %.4f", l.st.Epoch+1, l.st.LastLoss)
	if l.st.HasLastVal {
		s += fmt.Sprintf(" val %.4f", l.st.LastVal)
	}
	if l.hasLR {
		s += fmt.Sprintf(" lr %.3g", l.lr)
	}
	return s
}

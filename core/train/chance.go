package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// ChanceRule decides when a training loss is "still at chance": at the
// loss an untrained model has, which the loss plugin reports with each
// result (sdk.LossResult.Chance). A contrastive loss over a batch of N
// pairs (InfoNCE in either direction, or a weighted sum of both, as ConVIRT
// and CLIP) is ln N when the embeddings tell the pairs apart no better than
// guessing; a binary one is at its constant prediction's loss, a captioning
// one at ln V. A loss that has not gone below that after a warm-up means the
// encoders are not learning (a learning rate too small or too large, a
// pairing bug, a temperature stuck). The rule looks once, when the warm-up
// ends, at the mean loss of the last Window steps against the mean chance
// level of the same steps, so that one noisy step neither raises nor hides
// it. A loss that reports no chance level is not checked.
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

// AtChance reports whether a (mean) loss is still at chance, the loss an
// untrained model has: not below chance by the rule's relative tolerance.
// A chance level of 0 or less (not reported) is never at chance.
func (r ChanceRule) AtChance(loss, chance float64) bool {
	r = r.withDefaults()
	if chance <= 0 || math.IsNaN(loss) || math.IsNaN(chance) {
		return false
	}
	return loss >= chance*(1-r.Tolerance)
}

// chanceWatch applies the rule to the loop's losses and warns once.
type chanceWatch struct {
	loss, chance []float64 // the window's losses and chance levels, up to the warm-up step
	warned       bool
}

// observe takes the loss result of step l.st.Step.
func (w *chanceWatch) observe(l *loop, res sdk.LossResult) {
	r := l.cfg.Chance.withDefaults()
	if r.Warmup < 0 || w.warned || l.st.Step > r.Warmup || l.st.Step <= r.Warmup-r.Window {
		return
	}
	w.loss, w.chance = append(w.loss, res.Loss), append(w.chance, res.Chance)
	if l.st.Step < r.Warmup {
		return
	}
	loss, _, err := stats.MeanStd(w.loss)
	if err != nil || slices.Contains(w.chance, 0) {
		return // a loss that reports no chance level is not checked
	}
	chance, _, _ := stats.MeanStd(w.chance)
	if !r.AtChance(loss, chance) {
		return
	}
	w.warned = true
	if l.p.Warn != nil {
		l.p.Warn(fmt.Sprintf("the training loss is still at chance at step %d: %.4f (mean of the last %d steps), where an untrained model is at %.4f (the loss plugin's chance level; ln(batch size %d) = %.4f); "+
			"the encoders are not learning yet (check the learning rate, the image-text pairing and the loss's temperature)",
			l.st.Step, loss, len(w.loss), chance, l.cfg.BatchSize, math.Log(float64(l.cfg.BatchSize))))
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

package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func TestAtChance(t *testing.T) {
	ln32 := math.Log(32)
	for _, tc := range []struct {
		loss  float64
		batch int
		want  bool
	}{
		{ln32, 32, true},
		{ln32 * 1.5, 32, true}, // above chance is no better
		{ln32 * 0.96, 32, true},
		{ln32 * 0.94, 32, false},
		{0.1, 32, false},
		{5, 1, false}, // one pair has no chance level
		{math.NaN(), 32, false},
	} {
		if got := (ChanceRule{}).AtChance(tc.loss, tc.batch); got != tc.want {
			t.Errorf("AtChance(%v, %d) = %v, want %v", tc.loss, tc.batch, got, tc.want)
		}
	}
}

// fixedLoss is sqLoss's gradients with a loss value chosen per step.
type fixedLoss struct {
	sqLoss
	value func(step int) float64
}

func (l *fixedLoss) Compute(ctx context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	r, err := l.sqLoss.Compute(ctx, v, u)
	r.Loss = l.value(l.steps + 1)
	return r, err
}

// TestLossAtChanceWarnsOnce: a loss that stays at ln(batch) through the
// warm-up is flagged once, naming the step and the value; one that falls
// below it, or is at chance only before the window, is not.
func TestLossAtChanceWarnsOnce(t *testing.T) {
	ln8 := math.Log(8)
	for _, tc := range []struct {
		name  string
		value func(step int) float64
		want  string
	}{
		{"stuck", func(int) float64 { return ln8 + 0.01 }, "at chance at step 10: 2.0894 (mean of the last 3 steps), ln(batch size 8) = 2.0794"},
		{"learning", func(s int) float64 { return ln8 / float64(s) }, ""},
		{"learns only after the warm-up", func(s int) float64 { return map[bool]float64{true: ln8, false: 0.1}[s <= 10] }, "at chance at step 10: 2.0794"},
		{"noisy step", func(s int) float64 { return map[bool]float64{true: ln8 * 2, false: 0.5}[s == 9] }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := newParts()
			p.Loss = &fixedLoss{value: tc.value}
			var warnings []string
			p.Warn = func(m string) { warnings = append(warnings, m) }
			cfg := Config{BatchSize: 8, MaxSteps: 30, Chance: ChanceRule{Warmup: 10, Window: 3}}
			if _, err := Run(context.Background(), cfg, p); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && len(warnings) != 0:
				t.Fatalf("warned: %q", warnings)
			case tc.want != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.want)):
				t.Fatalf("warnings %q, want one containing %q", warnings, tc.want)
			}
		})
	}
}

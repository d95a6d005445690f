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
		loss, chance float64
		want         bool
	}{
		{ln32, ln32, true},
		{ln32 * 1.5, ln32, true}, // above chance is no better
		{ln32 * 0.96, ln32, true},
		{ln32 * 0.94, ln32, false},
		{0.1, ln32, false},
		{5, 0, false}, // a loss that reports no chance level is not checked
		{math.NaN(), ln32, false},
		{2 * math.Log(2), 2 * math.Log(2), true}, // a binary loss at its constant prediction, below ln 32
	} {
		if got := (ChanceRule{}).AtChance(tc.loss, tc.chance); got != tc.want {
			t.Errorf("AtChance(%v, %v) = %v, want %v", tc.loss, tc.chance, got, tc.want)
		}
	}
}

// fixedLoss is sqLoss's gradients with a loss value and a chance level
// chosen per step.
type fixedLoss struct {
	sqLoss
	value, chance func(step int) float64
}

func (l *fixedLoss) Compute(ctx context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	r, err := l.sqLoss.Compute(ctx, v, u)
	r.Loss, r.Chance = l.value(l.steps+1), l.chance(l.steps+1)
	return r, err
}

// TestLossAtChanceWarnsOnce: a loss that stays at the chance level its
// plugin reports through the warm-up is flagged once, naming the step, the
// value and the level; one that falls below it, or is at chance only before
// the window, or reports no level, is not. The level is the plugin's, not
// ln(batch): a binary loss stuck at 2 ln 2 is flagged, a GLoRIA-like sum
// of four InfoNCE terms learning below its 4 ln N is not.
func TestLossAtChanceWarnsOnce(t *testing.T) {
	ln8 := math.Log(8)
	lnN := func(int) float64 { return ln8 }
	for _, tc := range []struct {
		name          string
		value, chance func(step int) float64
		want          string
	}{
		{"stuck", func(int) float64 { return ln8 + 0.01 }, lnN, "at chance at step 10: 2.0894 (mean of the last 3 steps), where an untrained model is at 2.0794"},
		{"learning", func(s int) float64 { return ln8 / float64(s) }, lnN, ""},
		{"learns only after the warm-up", func(s int) float64 { return map[bool]float64{true: ln8, false: 0.1}[s <= 10] }, lnN, "at chance at step 10: 2.0794"},
		{"noisy step", func(s int) float64 { return map[bool]float64{true: ln8 * 2, false: 0.5}[s == 9] }, lnN, ""},
		{"no chance level", func(int) float64 { return ln8 }, func(int) float64 { return 0 }, ""},
		{"binary stuck below ln N", func(int) float64 { return 2 * math.Log(2) }, func(int) float64 { return 2 * math.Log(2) }, "at chance at step 10: 1.3863"},
		{"four terms learning above ln N", func(int) float64 { return 3 * ln8 }, func(int) float64 { return 4 * ln8 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := newParts()
			p.Loss = &fixedLoss{value: tc.value, chance: tc.chance}
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

package optim

import (
	"encoding/json"
	"testing"
)

// TestSettingsDecodeAndSelectTheOptimizer: the config keys a plugin embeds
// reach the optimiser's Config unchanged, with no momentum or betas set.
func TestSettingsDecodeAndSelectTheOptimizer(t *testing.T) {
	var s Settings
	if err := json.Unmarshal([]byte(`{"optimizer":"adamw","lr":0.25,"weight_decay":0.125}`), &s); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Config(), (Config{Name: "adamw", LR: 0.25, WeightDecay: 0.125}); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
}

package train

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestResumeAtStep: a resume at an exact step (the step the hosts of a run
// on several machines agreed on) continues from that checkpoint, not the
// newest, and ends where an uninterrupted run ends; a step whose
// checkpoint the rotation removed is an error naming it.
func TestResumeAtStep(t *testing.T) {
	dir := t.TempDir()
	p, _ := scriptedParts(9, 9, 9, 9)
	cfg := bestConfig(dir, 10) // step checkpoints 8 and 10 stay
	if _, err := Run(context.Background(), cfg, p); err != nil {
		t.Fatal(err)
	}
	p2, img := scriptedParts(9, 9, 9, 9)
	cfg.MaxSteps, cfg.Resume, cfg.ResumeAt = 14, true, 8
	if _, err := Run(context.Background(), cfg, p2); err != nil {
		t.Fatal(err)
	}
	if img.steps != 6 {
		t.Errorf("resumed run took %d steps, want 6 (from step 8, not the newest 10)", img.steps)
	}
	got, err := json.Marshal(img.W)
	if err != nil {
		t.Fatal(err)
	}
	if want := weightsAt(t, 14); string(got) != string(want) {
		t.Errorf("weights after resuming at step 8: %s, want the uninterrupted run's %s", got, want)
	}
	p3, _ := scriptedParts(9)
	cfg.ResumeAt = 2
	if _, err := Run(context.Background(), cfg, p3); err == nil || !strings.Contains(err.Error(), "the checkpoint of step 2") {
		t.Errorf("resume at a removed step: %v", err)
	}
}

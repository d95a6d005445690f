package train

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// lrEnc is linEnc reporting a learning rate that changes each step, as a
// schedule's does.
type lrEnc struct {
	*linEnc
	base float64
}

func (e lrEnc) LearningRate() (float64, bool) { return e.base / float64(e.steps), true }

// metrics records what the loop logs.
type metrics []string

func (m *metrics) LogMetric(key string, v float64, step int64) error {
	*m = append(*m, fmt.Sprintf("%s@%d=%g", key, step, v))
	return nil
}

// progressText keeps the last progress text.
type progressText struct{ text string }

func (p *progressText) Add(int)              {}
func (p *progressText) Describe(text string) { p.text = text }

// TestLearningRateIsRecorded: the learning rates the encoders report after
// each step are logged as train/lr (image) and train/text_lr at that step,
// and shown in the progress text.
func TestLearningRateIsRecorded(t *testing.T) {
	p, img, txt := newParts()
	p.Image, p.Text = lrEnc{img, 0.1}, lrEnc{txt, 0.2}
	var m metrics
	bar := &progressText{}
	p.Recorder, p.Progress = &m, bar
	if _, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: 2}, p); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(m, " ")
	for _, want := range []string{"train/lr@1=0.1", "train/text_lr@1=0.2", "train/lr@2=0.05", "train/text_lr@2=0.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics %q lack %q", got, want)
		}
	}
	if !strings.HasSuffix(bar.text, " lr 0.05") {
		t.Errorf("progress %q does not end with the learning rate", bar.text)
	}
}

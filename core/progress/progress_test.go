package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, 100, "train")
	for range 100 {
		b.Add(1)
	}
	b.Describe("loss 0.53")
	if buf.Len() != 0 {
		t.Errorf("wrote %q before Finish", buf.String())
	}
	b.Finish()
	b.Finish()
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "train: 100/100 in ") || !strings.Contains(out, "/s)") || !strings.Contains(out, "loss 0.53") {
		t.Errorf("summary %q", out)
	}
}

func TestTerminalBarShowsRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf, 10, "extract", true)
	b.Add(3)
	time.Sleep(120 * time.Millisecond) // past the render throttle
	b.Add(2)
	b.Describe("batch 5")
	if b.ETA() <= 0 || b.Rate() <= 0 {
		t.Errorf("eta %v rate %v", b.ETA(), b.Rate())
	}
	b.Add(5)
	b.Finish()
	out := buf.String()
	for _, want := range []string{"extract", "10/10", "it/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
}

func TestNilAndUnknownTotal(t *testing.T) {
	var nb *Bar
	nb.Add(1)
	nb.Describe("x")
	nb.Finish()
	var buf bytes.Buffer
	b := New(&buf, 0, "synth")
	b.Add(7)
	b.Finish()
	if !strings.HasPrefix(buf.String(), "synth: 7 in ") {
		t.Errorf("%q", buf.String())
	}
}

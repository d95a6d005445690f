package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	b := newBar(&buf, 100, "train", false, clk)
	for range 100 {
		b.Add(1)
	}
	clk.Advance(4 * time.Second)
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
	if want := "train: 100/100 in 4s (25.0/s) loss 0.53\n"; out != want {
		t.Errorf("summary %q, want %q", out, want)
	}
}

func TestTerminalBarShowsRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	b := newBar(&buf, 10, "extract", true, clk)
	b.Add(3)
	clk.Advance(2 * time.Second)
	b.Add(2)
	b.Describe("batch 5")
	if b.ETA() <= 0 || b.Rate() <= 0 {
		t.Errorf("eta %v rate %v", b.ETA(), b.Rate())
	}
	// 5 steps in 2s: 2.5/s, and the 5 left take 2s more.
	if b.Rate() != 2.5 || b.ETA() != 2*time.Second {
		t.Errorf("rate %v eta %v, want 2.5/s and 2s", b.Rate(), b.ETA())
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

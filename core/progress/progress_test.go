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
	b := newBar(&buf, 100, "train", false, Options{Clock: clk, Every: -1})
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
	if want := "train: 100/100 items in 4s (25.0 items/s) loss 0.53\n"; out != want {
		t.Errorf("summary %q, want %q", out, want)
	}
}

func TestTerminalBarShowsRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	b := newBar(&buf, 10, "extract", true, Options{Clock: clk, Unit: "images"})
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
	for _, want := range []string{"extract", "10/10", "2.5 images/s"} {
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
	if !strings.HasPrefix(buf.String(), "synth: 7 items in ") {
		t.Errorf("%q", buf.String())
	}
}

// TestLinesEveryIntervalWhenNotATerminal: in a log file a bar prints a
// plain line every Options.Every of its clock, with the unit, the share
// done, the rate, the ETA and the extra text, then its summary, and
// nothing after Finish.
func TestLinesEveryIntervalWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	b := newBar(&buf, 1000, "pretraining", false, Options{Clock: clk, Every: 30 * time.Second, Unit: "steps"})
	clk.BlockUntil(1)
	b.Add(100)
	b.Describe("epoch 1 loss 3.1000 val 3.2000")
	clk.Advance(30 * time.Second)
	clk.BlockUntil(1) // printed, and waits for the next
	want := "pretraining: 100/1000 steps (10%) in 30s (3.3 steps/s, ETA 4m30s) epoch 1 loss 3.1000 val 3.2000\n"
	if buf.String() != want {
		t.Fatalf("after 30s: %q, want %q", buf.String(), want)
	}
	b.Add(900)
	clk.Advance(30 * time.Second)
	clk.BlockUntil(1)
	b.Finish()
	clk.Advance(time.Hour)
	want += "pretraining: 1000/1000 steps (100%) in 1m0s (16.7 steps/s) epoch 1 loss 3.1000 val 3.2000\n" +
		"pretraining: 1000/1000 steps in 1m0s (16.7 steps/s) epoch 1 loss 3.1000 val 3.2000\n"
	if buf.String() != want {
		t.Fatalf("output %q, want %q", buf.String(), want)
	}
}

// TestEveryNegativeIsSummaryOnly: Every < 0 prints only the summary.
func TestEveryNegativeIsSummaryOnly(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	b := newBar(&buf, 10, "x", false, Options{Clock: clk, Every: -1})
	b.Add(1)
	if n, _ := clk.Waiting(); n != 0 {
		t.Fatalf("%d waiters on the clock", n)
	}
	b.Finish()
	if buf.String() != "x: 1/10 items in 0s\n" {
		t.Fatalf("%q", buf.String())
	}
}

// TestRateIsSensible: no rate before a second has passed (a burst of fast
// items says more about the clock than the work); slow work reads as
// seconds per item.
func TestRateIsSensible(t *testing.T) {
	for _, tc := range []struct {
		n       int64
		elapsed time.Duration
		want    string
	}{
		{1000, time.Millisecond, ""},
		{0, time.Minute, ""},
		{250, time.Second, "250 images/s"},
		{5, 2 * time.Second, "2.5 images/s"},
		{1, 4 * time.Second, "4.0 s/image"},
	} {
		if got := rate(tc.n, tc.elapsed, "images"); got != tc.want {
			t.Errorf("rate(%d, %v) = %q, want %q", tc.n, tc.elapsed, got, tc.want)
		}
	}
}

// TestFromCountsButIsNoRate: a resumed run's bar starts at its step; the
// steps done before count in the share, not in the rate or the ETA.
func TestFromCountsButIsNoRate(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	b := newBar(&buf, 100, "pretraining", false, Options{Clock: clk, Every: -1, Unit: "steps"})
	b.From(60)
	b.Add(10)
	clk.Advance(10 * time.Second)
	if b.Rate() != 1 || b.ETA() != 30*time.Second {
		t.Fatalf("rate %v, ETA %v; want 1 step/s and 30s", b.Rate(), b.ETA())
	}
	b.Finish()
	if want := "pretraining: 70/100 steps in 10s (1.0 steps/s)\n"; buf.String() != want {
		t.Fatalf("%q, want %q", buf.String(), want)
	}
}

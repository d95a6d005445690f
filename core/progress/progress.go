// Package progress draws progress bars with rate and ETA for long
// operations (synthesis, feature extraction, training, evaluation). On a
// terminal it redraws one line; on anything else (a log file, a pipe, a
// Slurm log) it prints a plain progress line every Options.Every, so that a
// days-long job shows life, and a summary line when finished.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// DefaultEvery is how often a bar not drawn on a terminal prints its line.
const DefaultEvery = 30 * time.Second

// Options are a bar's settings beyond its total and label.
type Options struct {
	// Unit names what is counted, plural: "steps", "pairs", "images"
	// (default "items"). Rates read "2.5 steps/s", or "4.0 s/step" below
	// one a second.
	Unit string
	// Every is how often a bar not drawn on a terminal prints a progress
	// line: 0 means DefaultEvery, < 0 only the final summary.
	Every time.Duration
	// Clock times the rate, the ETA and Every (nil: the real clock).
	Clock clock.Clock
}

// Bar is one progress bar. Its methods are safe for concurrent use and a nil
// *Bar is a valid no-op bar.
type Bar struct {
	w     io.Writer
	total int64
	desc  string
	unit  string
	start time.Time
	clock clock.Clock              // the rate's and the lines' time
	pb    *progressbar.ProgressBar // nil when not on a terminal
	stop  chan struct{}            // closed by Finish: ends the line printer

	mu       sync.Mutex
	n        int64
	base     int64 // of n, done before the bar started (From)
	extra    string
	done     bool
	lastDesc time.Time // when the terminal bar's text was last refreshed
}

// New starts a bar of total items (total <= 0: unknown, a spinner)
// labelled desc, with the default Options.
func New(w io.Writer, total int64, desc string) *Bar {
	return NewWith(w, total, desc, Options{})
}

// NewWith starts a bar of total items labelled desc, drawn on w when w is
// a terminal, printing progress lines on it otherwise.
func NewWith(w io.Writer, total int64, desc string, o Options) *Bar {
	return newBar(w, total, desc, IsTerminal(w), o)
}

// IsTerminal reports whether w is a terminal (an *os.File on a tty).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar is NewWith drawing on a terminal or not (tty).
func newBar(w io.Writer, total int64, desc string, tty bool, o Options) *Bar {
	if o.Unit == "" {
		o.Unit = "items"
	}
	clk := clock.Or(o.Clock)
	b := &Bar{w: w, total: total, desc: desc, unit: o.Unit, start: clk.Now(), clock: clk, stop: make(chan struct{})}
	if !tty {
		if o.Every == 0 {
			o.Every = DefaultEvery
		}
		if o.Every > 0 && w != io.Discard {
			go b.printEvery(o.Every)
		}
		return b
	}
	max := total
	if max <= 0 {
		max = -1
	}
	b.pb = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return b
}

// printEvery prints the bar's line every d until Finish.
func (b *Bar) printEvery(d time.Duration) {
	for {
		select {
		case <-b.stop:
			return
		case <-b.clock.After(d):
		}
		b.unfinished(func() { fmt.Fprintln(b.w, b.line(b.clock.Now().Sub(b.start), true)) })
	}
}

// Add advances the bar by n items.
func (b *Bar) Add(n int64) {
	b.unfinished(func() {
		b.n += n
		if b.pb == nil {
			return
		}
		// The rate in the text changes slowly; refresh it once a second.
		if now := b.clock.Now(); now.Sub(b.lastDesc) >= time.Second {
			b.lastDesc = now
			b.pb.Describe(b.ttyText())
		}
		_ = b.pb.Add64(n) // drawing errors must not stop the work
	})
}

// From counts n items as done before the bar started, as a resumed run's
// steps: they show in the count and the share done, not in the rate.
func (b *Bar) From(n int64) {
	b.unfinished(func() {
		b.n += n
		b.base += n
		if b.pb != nil {
			_ = b.pb.Set64(b.n)
		}
	})
}

// unfinished runs f under the bar's lock, unless the bar is nil or
// finished: what Add and Finish do only to a bar still running.
func (b *Bar) unfinished(f func()) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	f()
}

// Describe sets extra text shown after the description, e.g. "loss 0.53".
func (b *Bar) Describe(extra string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.extra = extra
	if b.pb != nil && !b.done {
		b.pb.Describe(b.ttyText())
	}
}

// ttyText is the terminal bar's text: the label, the rate, the extra text.
func (b *Bar) ttyText() string {
	return strings.Join(nonEmpty(b.desc, rate(b.n-b.base, b.clock.Now().Sub(b.start), b.unit), b.extra), " ")
}

// Finish completes the bar. Not on a terminal it prints one summary line:
// "pretraining: 1000/1000 steps in 12.3s (81.2 steps/s) loss 0.53".
func (b *Bar) Finish() {
	b.unfinished(func() {
		b.done = true
		close(b.stop)
		if b.pb != nil {
			if b.total > 0 && b.n < b.total {
				_ = b.pb.Exit() // stopped early: keep the bar as it is
				fmt.Fprintln(b.w)
				return
			}
			_ = b.pb.Finish()
			return
		}
		fmt.Fprintln(b.w, b.line(b.clock.Now().Sub(b.start), false))
	})
}

// line is the plain text of the bar after elapsed: the count, the share
// of the total and the ETA while running (running), the rate and the extra
// text. "pretraining: 300/1000 steps (30%) in 2m0s (2.5 steps/s, ETA 4m40s) loss 3.1"
func (b *Bar) line(elapsed time.Duration, running bool) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s: %d", b.desc, b.n)
	if b.total > 0 {
		fmt.Fprintf(&s, "/%d", b.total)
	}
	fmt.Fprintf(&s, " %s", b.unit)
	if running && b.total > 0 {
		fmt.Fprintf(&s, " (%d%%)", 100*b.n/b.total)
	}
	fmt.Fprintf(&s, " in %s", round(elapsed))
	in := nonEmpty(rate(b.n-b.base, elapsed, b.unit))
	if eta := b.eta(elapsed); running && eta > 0 {
		in = append(in, "ETA "+round(eta).String())
	}
	if len(in) > 0 {
		fmt.Fprintf(&s, " (%s)", strings.Join(in, ", "))
	}
	if b.extra != "" {
		s.WriteString(" " + b.extra)
	}
	return s.String()
}

// rate is n items over elapsed as "2.5 steps/s" or, slower than one a
// second, "4.0 s/step"; "" before a second has passed, when a rate says
// more about the clock than about the work.
func rate(n int64, elapsed time.Duration, unit string) string {
	sec := elapsed.Seconds()
	if sec < 1 || n <= 0 {
		return ""
	}
	r := float64(n) / sec
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f %s/s", r, unit)
	case r >= 1:
		return fmt.Sprintf("%.1f %s/s", r, unit)
	}
	return fmt.Sprintf("%.1f s/%s", 1/r, strings.TrimSuffix(unit, "s"))
}

// round shortens a duration for display: milliseconds under a minute,
// seconds above.
func round(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Rate is the mean items per second so far (From's left out).
func (b *Bar) Rate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	sec := b.clock.Now().Sub(b.start).Seconds()
	if sec <= 0 {
		return 0
	}
	return float64(b.n-b.base) / sec
}

// ETA estimates the time left at the mean rate so far; 0 when the total is
// unknown or nothing has been done.
func (b *Bar) ETA() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eta(b.clock.Now().Sub(b.start))
}

func (b *Bar) eta(elapsed time.Duration) time.Duration {
	if b.total <= 0 || b.n-b.base <= 0 || b.n >= b.total || elapsed <= 0 {
		return 0
	}
	return time.Duration(float64(b.total-b.n) / float64(b.n-b.base) * float64(elapsed))
}

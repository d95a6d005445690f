// Package progress draws progress bars with rate and ETA for long
// operations (synthesis, feature extraction, training, evaluation). On a
// terminal it redraws one line; on anything else (a log file, a pipe, CI)
// it stays quiet and prints a single summary line when finished.
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

// Bar is one progress bar. Its methods are safe for concurrent use and a nil
// *Bar is a valid no-op bar.
type Bar struct {
	w     io.Writer
	total int64
	desc  string
	start time.Time
	clock clock.Clock              // the rate's and the summary's time
	pb    *progressbar.ProgressBar // nil when quiet

	mu    sync.Mutex
	n     int64
	extra string
	done  bool
}

// New starts a bar of total steps (total <= 0: unknown, a spinner) labelled
// desc, drawing on w when w is a terminal.
func New(w io.Writer, total int64, desc string) *Bar {
	return newBar(w, total, desc, IsTerminal(w), clock.Real)
}

// IsTerminal reports whether w is a terminal (an *os.File on a tty).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar is New drawing on a terminal or not (tty), timed by clk.
func newBar(w io.Writer, total int64, desc string, tty bool, clk clock.Clock) *Bar {
	b := &Bar{w: w, total: total, desc: desc, start: clk.Now(), clock: clk}
	if !tty {
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
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return b
}

// Add advances the bar by n steps.
func (b *Bar) Add(n int64) {
	b.unfinished(func() {
		b.n += n
		if b.pb != nil {
			_ = b.pb.Add64(n) // drawing errors must not stop the work
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
		b.pb.Describe(strings.TrimSpace(b.desc + " " + extra))
	}
}

// Finish completes the bar. When quiet it prints one summary line:
// "desc: 1000/1000 in 12.3s (81.2/s) loss 0.53".
func (b *Bar) Finish() {
	b.unfinished(func() {
		b.done = true
		if b.pb != nil {
			if b.total > 0 && b.n < b.total {
				_ = b.pb.Exit() // stopped early: keep the bar as it is
				fmt.Fprintln(b.w)
				return
			}
			_ = b.pb.Finish()
			return
		}
		fmt.Fprintln(b.w, b.summary(b.clock.Now().Sub(b.start)))
	})
}

func (b *Bar) summary(elapsed time.Duration) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s: %d", b.desc, b.n)
	if b.total > 0 {
		fmt.Fprintf(&s, "/%d", b.total)
	}
	fmt.Fprintf(&s, " in %s", elapsed.Round(time.Millisecond))
	if sec := elapsed.Seconds(); sec > 0 {
		fmt.Fprintf(&s, " (%.1f/s)", float64(b.n)/sec)
	}
	if b.extra != "" {
		s.WriteString(" " + b.extra)
	}
	return s.String()
}

// Rate is the mean steps per second so far.
func (b *Bar) Rate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	sec := b.clock.Now().Sub(b.start).Seconds()
	if sec <= 0 {
		return 0
	}
	return float64(b.n) / sec
}

// ETA estimates the time left at the mean rate so far; 0 when the total is
// unknown or nothing has been done.
func (b *Bar) ETA() time.Duration {
	r := b.Rate()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total <= 0 || r <= 0 || b.n >= b.total {
		return 0
	}
	return time.Duration(float64(b.total-b.n) / r * float64(time.Second))
}

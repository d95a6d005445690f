// Package clock is the seam between code that waits or measures time and
// the tests of that code: the code asks a Clock (the real one by default),
// and a test hands it a Fake that moves only when the test advances it, so
// that what a timeout, a backoff or a rate does is checked without sleeping
// or bounding wall-clock time.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// After sends the time on the channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
var Real Clock = system{}

type system struct{}

func (system) Now() time.Time                         { return time.Now() }
func (system) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Or returns c, or Real when c is nil: what an option left unset means.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Fake is a Clock for tests: its time stands still until Advance moves it,
// and the channels of After fire when it passes their deadline. Waiting
// reports how many are waiting, so that a test can advance the clock once
// the code under test is known to wait on it. It is safe for concurrent
// use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed and replaced when waiters changes
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewFake returns a Fake clock showing start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now implements Clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After implements Clock; d <= 0 fires at once.
func (f *Fake) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, waiter{f.now.Add(d), ch})
	f.notifyLocked()
	return ch
}

// Advance moves the clock on by d and fires every After whose deadline it
// reaches, earliest first.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].at.Before(f.waiters[j].at) })
	n := 0
	for _, w := range f.waiters {
		if w.at.After(f.now) {
			break
		}
		w.ch <- w.at
		n++
	}
	if n > 0 {
		f.waiters = append([]waiter(nil), f.waiters[n:]...)
		f.notifyLocked()
	}
}

// Waiting returns how many Afters wait on the clock, and a channel that is
// closed when that number next changes.
func (f *Fake) Waiting() (int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters), f.changed
}

// Due returns how many Afters wait for a deadline at most d from now: what
// Advance(d) would fire.
func (f *Fake) Due(d time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, w := range f.waiters {
		if !w.at.After(f.now.Add(d)) {
			n++
		}
	}
	return n
}

// BlockUntil returns once at least n Afters wait on the clock.
func (f *Fake) BlockUntil(n int) {
	for {
		k, changed := f.Waiting()
		if k >= n {
			return
		}
		<-changed
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

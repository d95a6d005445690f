package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFakeFiresInOrderOnlyWhenAdvanced(t *testing.T) {
	f := NewFake(t0)
	late, early := f.After(2*time.Second), f.After(time.Second)
	if n, _ := f.Waiting(); n != 2 {
		t.Fatalf("waiting %d, want 2", n)
	}
	if a, b, c := f.Due(999*time.Millisecond), f.Due(time.Second), f.Due(2*time.Second); a != 0 || b != 1 || c != 2 {
		t.Fatalf("due %d %d %d, want 0 1 2", a, b, c)
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-early:
		t.Fatal("fired before its deadline")
	default:
	}
	f.Advance(time.Millisecond)
	if got := <-early; !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("early fired with %v", got)
	}
	select {
	case <-late:
		t.Fatal("late fired early")
	default:
	}
	f.Advance(time.Hour)
	if got := <-late; !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("late fired with %v", got)
	}
	if !f.Now().Equal(t0.Add(time.Hour + time.Second)) {
		t.Fatalf("now %v", f.Now())
	}
	if n, _ := f.Waiting(); n != 0 {
		t.Fatalf("waiting %d after firing all", n)
	}
	if got := <-f.After(0); !got.Equal(f.Now()) {
		t.Fatal("After(0) did not fire at once")
	}
}

func TestBlockUntilWaitsForAWaiter(t *testing.T) {
	f := NewFake(t0)
	fired := make(chan time.Time)
	go func() { fired <- <-f.After(time.Minute) }()
	f.BlockUntil(1)
	f.Advance(time.Minute)
	if got := <-fired; !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("fired with %v", got)
	}
}

func TestOrDefaultsToReal(t *testing.T) {
	if Or(nil) != Real {
		t.Fatal("Or(nil) is not Real")
	}
	f := NewFake(t0)
	if Or(f) != f {
		t.Fatal("Or(f) is not f")
	}
}

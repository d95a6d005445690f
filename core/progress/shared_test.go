package progress

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestShared: a file stays itself (so a terminal is still one); a buffer
// written from many goroutines at once gets every write whole (go test
// -race fails on the bare buffer); wrapping twice is wrapping once.
func TestShared(t *testing.T) {
	if Shared(os.Stderr) != os.Stderr {
		t.Error("Shared(os.Stderr) is not os.Stderr: a terminal would no longer be recognised")
	}
	var buf bytes.Buffer
	w := Shared(&buf)
	if Shared(w) != w {
		t.Error("Shared of a shared writer wrapped it again")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				w.Write([]byte(strings.Repeat(string(rune('a'+i)), 10) + "\n"))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if len(l) != 10 || strings.Count(l, l[:1]) != 10 {
			t.Fatalf("a write was interleaved: %q", l)
		}
	}
}

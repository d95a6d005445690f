package experiment

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
)

// synthSession is a session whose recipe asks for a synthetic corpus at
// root, written by w.
func synthSession(t *testing.T, root string, w *SynthCorpus) *session {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	r := &recipe.Recipe{}
	r.Data.Synth = &recipe.Synth{Root: root, Pairs: 5, Size: 16, Seed: 7}
	return &session{r: r, opt: Options{Progress: io.Discard, Synth: w}, log: log}
}

// TestSynthUsesTheGivenWriter: the corpus comes from the writer in
// Options.Synth, called with the recipe's settings; a second run with the
// same settings reuses it, one with another corpus version refuses it, and
// without a writer the recipe's data.synth is an error saying so.
func TestSynthUsesTheGivenWriter(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "corpus")
	calls := 0
	w := &SynthCorpus{Version: 3, Write: func(_ context.Context, dir string, pairs, size int, seed int64, step func()) error {
		calls++
		if pairs != 5 || size != 16 || seed != 7 {
			t.Errorf("writer called with pairs %d size %d seed %d, want the recipe's 5, 16, 7", pairs, size, seed)
		}
		step()
		return os.WriteFile(filepath.Join(dir, "pair.txt"), []byte("x"), 0o644)
	}}
	if err := synthSession(t, root, w).synth(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "pair.txt")); err != nil || calls != 1 {
		t.Fatalf("corpus not written in place (%v) or writer called %d times", err, calls)
	}
	if err := synthSession(t, root, w).synth(ctx); err != nil || calls != 1 {
		t.Fatalf("second run: err %v, writer called %d times; want the corpus reused", err, calls)
	}
	other := &SynthCorpus{Version: 4, Write: w.Write}
	if err := synthSession(t, root, other).synth(ctx); err == nil || !strings.Contains(err.Error(), "version=3") || calls != 1 {
		t.Fatalf("another corpus version: err %v, writer called %d times; want a refusal naming version=3", err, calls)
	}
	err := synthSession(t, filepath.Join(t.TempDir(), "none"), nil).synth(ctx)
	if err == nil || !strings.Contains(err.Error(), "data.synth") {
		t.Fatalf("no writer: err %v, want one naming data.synth", err)
	}
}

// TestSynthTwoWritersAtOnce: two runs writing the same corpus at once (the
// nodes of a run on several hosts sharing a file system): the one that
// moves its copy into place second finds the whole corpus there and goes
// on with it; a root that holds another corpus is still refused.
func TestSynthTwoWritersAtOnce(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "corpus")
	secondWriting, firstDone := make(chan struct{}), make(chan struct{})
	write := func(before func()) *SynthCorpus {
		return &SynthCorpus{Version: 3, Write: func(_ context.Context, dir string, _, _ int, _ int64, _ func()) error {
			before()
			return os.WriteFile(filepath.Join(dir, "pair.txt"), []byte("x"), 0o644)
		}}
	}
	second := make(chan error, 1)
	go func() {
		// It found no corpus and writes its own while the first run
		// writes and moves its copy into place.
		second <- synthSession(t, root, write(func() { close(secondWriting); <-firstDone })).synth(ctx)
	}()
	if err := synthSession(t, root, write(func() { <-secondWriting })).synth(ctx); err != nil {
		t.Fatal(err)
	}
	close(firstDone)
	if err := <-second; err != nil {
		t.Fatalf("the run that came second: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "pair.txt")); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(root), ".corpus.partial-*")); len(left) > 0 {
		t.Errorf("partial copies left: %v", left)
	}
}

package soak

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// writeCheckpoint writes a checkpoint of step with parts into run/checkpoints.
func writeCheckpoint(t *testing.T, run string, step int, parts map[string][]byte) {
	t.Helper()
	dir := filepath.Join(run, runs.CheckpointsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ck := &train.Checkpoint{Parts: parts}
	ck.State.Step = step
	f, err := os.Create(filepath.Join(dir, train.StepFile(step)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ck.Encode(f); err != nil {
		t.Fatal(err)
	}
}

// TestSameCheckpoints: a part's state differing, or a part present in only
// one of the two runs (either one), is a difference.
func TestSameCheckpoints(t *testing.T) {
	base := map[string][]byte{"image": []byte("i"), "text": []byte("t")}
	for _, tc := range []struct {
		name         string
		clean, dirty map[string][]byte
		want         []string
	}{
		{"same", base, base, nil},
		{"state differs", base, map[string][]byte{"image": []byte("x"), "text": []byte("t")}, []string{"final image state differs"}},
		{"part only undisturbed", base, map[string][]byte{"image": []byte("i")}, []string{"final text state differs"}},
		{"part only disturbed", map[string][]byte{"image": []byte("i")}, base, []string{"final text state differs"}},
	} {
		clean, dirty := t.TempDir(), t.TempDir()
		writeCheckpoint(t, clean, 4, tc.clean)
		writeCheckpoint(t, dirty, 4, tc.dirty)
		got, err := sameCheckpoints(clean, dirty)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

package datasetplugin

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/hashicorp/go-hclog"
)

// chexpertCorpus writes a private CheXpert set and returns its root.
func chexpertCorpus(t *testing.T, studies int) string {
	t.Helper()
	dir := t.TempDir()
	if err := synth.Write(context.Background(), dir, synth.Config{Studies: studies, Size: 32, Seed: 1, UncertainP: 0.25}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "CheXpert-v1.0-small")
}

// corrupt overwrites the image files of examples idx of the chexpert train
// split with bytes that are no image, returning their paths.
func corrupt(t *testing.T, root string, idx ...int) []string {
	t.Helper()
	p := configured(t, "chexpert", map[string]any{"root": root})
	if _, err := p.Describe(context.Background(), "train"); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, i := range idx {
		ex, err := p.splits["train"].src.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ex.ImagePath, []byte("not an image"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, ex.ImagePath)
	}
	return paths
}

// serve asks for every example of the train split in batches of 8, for
// the given number of epochs; it returns the samples asked for before the
// first error, the samples returned, and that error.
func serve(p *Plugin, epochs int) (asked, got int, err error) {
	n := len(p.splits["train"].src.(*source.Slice).Examples)
	for e := range epochs {
		for lo := 0; lo < n; lo += 8 {
			var idx []int
			for i := lo; i < min(lo+8, n); i++ {
				idx = append(idx, i)
			}
			b, err := p.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: idx, Epoch: e})
			if err != nil {
				return asked, got, err
			}
			asked, got = asked+len(idx), got+len(b.IDs)
		}
	}
	return asked, got, nil
}

func TestMaxBadFractionSkippedSamples(t *testing.T) {
	root := chexpertCorpus(t, 20)
	bad := corrupt(t, root, 1, 5, 9) // 3 of 20+ images: more than 5%, less than 50%
	var log bytes.Buffer

	strict := New("chexpert", "")
	strict.SetLogger(hclog.New(&hclog.LoggerOptions{Output: &log}))
	if err := strict.Configure(context.Background(), map[string]any{"root": root, "image_size": 16}); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Describe(context.Background(), "train"); err != nil {
		t.Fatal(err)
	}
	asked, _, err := serve(strict, 5)
	if err == nil {
		t.Fatal("a split with over 5% unreadable images served 5 epochs")
	}
	if asked < minSeen-8 || asked > minSeen+8 {
		t.Errorf("failed after %d samples, want about %d", asked, minSeen)
	}
	for _, want := range []string{"dataset chexpert split train", "too many bad samples", "max_bad_fraction 5.0%", bad[0]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(log.String(), "bad sample skipped") || !strings.Contains(log.String(), bad[0]) {
		t.Errorf("bad samples not logged: %s", log.String())
	}

	lenient := configured(t, "chexpert", map[string]any{"root": root, "image_size": 16, "max_bad_fraction": 0.5})
	if _, err := lenient.Describe(context.Background(), "train"); err != nil {
		t.Fatal(err)
	}
	asked, got, err := serve(lenient, 5)
	if err != nil {
		t.Fatalf("under the threshold: %v", err)
	}
	if asked-got != 5*len(bad) {
		t.Errorf("%d asked, %d returned: want %d skipped", asked, got, 5*len(bad))
	}
}

func TestMaxBadFractionRejectedRows(t *testing.T) {
	root := chexpertCorpus(t, 40) // 40+ rows and 10 rejected: judged at open time
	f, err := os.OpenFile(filepath.Join(root, "train.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // rows whose images do not exist
		fmt.Fprintf(f, "CheXpert-v1.0-small/train/patient9%04d/study1/view1_frontal.jpg,Male,50,Frontal,AP%s\n", i, strings.Repeat(",", 14))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	p := configured(t, "chexpert", map[string]any{"root": root, "image_size": 16, "max_bad_fraction": 0.1})
	_, err = p.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: []int{0}})
	if err == nil || !strings.Contains(err.Error(), "10 of") || !strings.Contains(err.Error(), "train.csv:") {
		t.Errorf("rejected rows: err = %v", err)
	}
	ok := configured(t, "chexpert", map[string]any{"root": root, "image_size": 16, "max_bad_fraction": 0.5})
	if _, err := ok.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: []int{0}}); err != nil {
		t.Errorf("under the threshold: %v", err)
	}
}

func TestTallyShare(t *testing.T) {
	tl := &tally{indexed: 90, rejected: 10}
	bad := make([]source.Problem, 20)
	idx := make([]int, 20)
	for i := range idx {
		idx[i] = i
	}
	if fresh := tl.add(40, bad, idx); len(fresh) != 20 {
		t.Errorf("%d fresh problems, want 20", len(fresh))
	}
	if s := tl.share(); math.Abs(s-0.3) > 1e-9 {
		t.Errorf("share %v, want (10 rejected + 20 failed) / 100", s)
	}
	// The same samples failing again (another epoch, or asked again) are
	// the same bad samples.
	if fresh := tl.add(40, bad, idx); len(fresh) != 0 {
		t.Errorf("%d fresh problems on the second reading, want 0", len(fresh))
	}
	if s := tl.share(); math.Abs(s-0.3) > 1e-9 {
		t.Errorf("share %v after the same samples failed again, want 0.3", s)
	}
	if tl.check("d", "s", 0.3) != nil || tl.check("d", "s", 0.29) == nil {
		t.Error("threshold not applied")
	}
	small := &tally{indexed: 10, rejected: 10}
	if small.check("d", "s", 0.1) != nil {
		t.Error("judged before 50 samples were seen")
	}
	small.add(50, nil, nil)
	if small.check("d", "s", 0.1) == nil {
		t.Error("not judged once 50 samples were served")
	}
}

package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The loop's logic is tested here with small pure-Go parts: linear encoders
// with SGD and a squared-distance loss. The step through real plugin
// processes and libtorch models is tested in plugins/encoders.

func TestRunReducesLossAndValidates(t *testing.T) {
	p, img, _ := newParts()
	res, err := Run(context.Background(), Config{BatchSize: 8, Epochs: 5, Seed: 1, ValSplit: "val"}, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 25 || res.Epochs != 5 || res.StopReason != "epochs" {
		t.Fatalf("result %+v: want 25 steps over 5 epochs", res)
	}
	if len(img.valLosses) != 4 {
		t.Errorf("plateau schedule saw %d validation losses, want 4 (one per epoch but the last)", len(img.valLosses))
	}
	if !(res.BestValLoss < img.valLosses[0]+1e-12) || math.IsNaN(res.BestValLoss) {
		t.Errorf("best val %v vs first %v", res.BestValLoss, img.valLosses[0])
	}
}

// TestResumeEqualsUninterrupted resumes from a checkpoint in the middle of
// an epoch (and, with length bucketing, of a window) and checks that the
// weights end bit-equal to an uninterrupted run's.
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, buckets := range []int{0, 3} {
		t.Run(fmt.Sprintf("length_buckets=%d", buckets), func(t *testing.T) {
			ctx := context.Background()
			ref, refImg, refTxt := newParts()
			if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 13, Seed: 7, LengthBuckets: buckets}, ref); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			p1, _, _ := newParts()
			if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 7, Seed: 7, CheckpointDir: dir, CheckpointEvery: 3, LengthBuckets: buckets}, p1); err != nil {
				t.Fatal(err)
			}
			p2, img, txt := newParts() // fresh processes: state comes from the checkpoint
			res, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 13, Seed: 7, CheckpointDir: dir, Resume: true, LengthBuckets: buckets}, p2)
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != 13 {
				t.Fatalf("resumed run ended at step %d, want 13", res.Steps)
			}
			for i := range refImg.W {
				if refImg.W[i] != img.W[i] || refTxt.W[i] != txt.W[i] {
					t.Fatalf("resumed weights differ at %d: %v/%v vs %v/%v", i, img.W[i], txt.W[i], refImg.W[i], refTxt.W[i])
				}
			}
			if img.steps != 6 {
				t.Errorf("resumed run took %d steps, want 6", img.steps)
			}
		})
	}
}

func TestGradCacheEqualsPlainStep(t *testing.T) {
	ctx := context.Background()
	a, aImg, aTxt := newParts()
	b, bImg, bTxt := newParts()
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 6, Seed: 3}, a); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 6, Seed: 3, GradCacheChunk: 3}, b); err != nil {
		t.Fatal(err)
	}
	for i := range aImg.W {
		if math.Abs(aImg.W[i]-bImg.W[i]) > 1e-6 || math.Abs(aTxt.W[i]-bTxt.W[i]) > 1e-6 {
			t.Fatalf("grad cache weights differ at %d: %v vs %v", i, bImg.W[i], aImg.W[i])
		}
	}
}

func TestEarlyStopping(t *testing.T) {
	p, img, _ := newParts()
	img.lr, p.Text.(*linEnc).lr = 0, 0 // nothing improves
	res, err := Run(context.Background(), Config{BatchSize: 8, Epochs: 50, Seed: 1, ValSplit: "val", EarlyStopPatience: 2}, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != "early_stopping" || res.Epochs != 3 {
		t.Fatalf("got %+v, want early stopping after epoch 3", res)
	}
}

func TestCorruptCheckpointFallsBack(t *testing.T) {
	dir := t.TempDir()
	p, _, _ := newParts()
	if _, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: 4, Seed: 1, CheckpointDir: dir, CheckpointEvery: 2}, p); err != nil {
		t.Fatal(err)
	}
	newest := filepath.Join(dir, StepFile(4))
	data, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newest, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadLatest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.State.Step != 2 {
		t.Fatalf("fell back to step %d, want 2", ck.State.Step)
	}
	if len(ck.Skipped) != 1 || !strings.Contains(ck.Skipped[0], newest) {
		t.Fatalf("Skipped = %v, want the corrupt %s", ck.Skipped, newest)
	}
	if _, err := DecodeCheckpoint(data[:len(data)-1]); err == nil {
		t.Fatal("a truncated checkpoint must not decode")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	p, _, _ := newParts()
	for _, c := range []Config{{BatchSize: 0, MaxSteps: 1}, {BatchSize: 8}, {BatchSize: 100, MaxSteps: 1}} {
		if _, err := Run(context.Background(), c, p); err == nil {
			t.Errorf("config %+v: want an error", c)
		}
	}
}

package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// ctxEnc is linEnc answering a cancelled context with its error, as a
// plugin's gRPC client does, and calling hook before each call.
type ctxEnc struct {
	*linEnc
	hook func(call string, train bool)
}

func (e ctxEnc) Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	e.hook("forward", req.Train)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.linEnc.Forward(ctx, req)
}

func (e ctxEnc) Backward(ctx context.Context, g *tensor.Tensor) error {
	e.hook("backward", true)
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.linEnc.Backward(ctx, g)
}

func (e ctxEnc) Step(ctx context.Context, req sdk.StepRequest) error {
	e.hook("step", true)
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.linEnc.Step(ctx, req)
}

// TestInterruptCheckpointsAndResumes cancels the run in the middle of a
// training step and in the middle of a validation, as SIGINT or SIGTERM
// does: the loop stops with ctx's error alone (no chain naming the call it
// cut), the begun step counted, a checkpoint of that state written, and a
// resumed run ends bit-equal to an uninterrupted one, validations included.
func TestInterruptCheckpointsAndResumes(t *testing.T) {
	cfg := Config{BatchSize: 8, MaxSteps: 13, Seed: 7, ValSplit: "val"}
	ref, refImg, refTxt := newParts()
	if _, err := Run(context.Background(), cfg, ref); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		at    func(call string, train bool, n map[string]int) bool // cancel before this call
		steps int                                                  // steps done when it stops
	}{
		// the third backward: step 3 has run its forwards
		{"mid-step", func(call string, _ bool, n map[string]int) bool { return call == "backward" && n["backward"] == 3 }, 3},
		// the first validation forward, after the fifth step ended epoch 1
		{"mid-validation", func(call string, train bool, _ map[string]int) bool { return call == "forward" && !train }, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, img, _ := newParts()
			var mu sync.Mutex
			n := map[string]int{}
			p.Image = ctxEnc{img, func(call string, train bool) {
				mu.Lock()
				defer mu.Unlock()
				n[call]++
				if tc.at(call, train, n) {
					cancel()
				}
			}}
			c := cfg
			c.CheckpointDir = dir
			res, err := Run(ctx, c, p)
			if !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
				t.Fatalf("err = %v, want context.Canceled alone", err)
			}
			if res.Steps != tc.steps || res.StopReason != "interrupted" {
				t.Fatalf("stopped at step %d (%q), want %d (interrupted)", res.Steps, res.StopReason, tc.steps)
			}
			if want := filepath.Join(dir, StepFile(tc.steps)); res.Checkpoint != want {
				t.Fatalf("checkpoint %q, want %q", res.Checkpoint, want)
			}
			if _, err := os.Stat(res.Checkpoint); err != nil {
				t.Fatal(err)
			}
			p2, img2, txt2 := newParts()
			bar := &fromProgress{}
			p2.Progress = bar
			c.Resume, c.MustResume = true, true
			if res, err := Run(context.Background(), c, p2); err != nil || res.Steps != 13 {
				t.Fatalf("resume: %d steps, %v", res.Steps, err)
			}
			if bar.from != tc.steps || bar.added != 13-tc.steps {
				t.Errorf("the resumed bar started at %d and counted %d steps, want %d and %d", bar.from, bar.added, tc.steps, 13-tc.steps)
			}
			if !slices.Equal(img2.W, refImg.W) || !slices.Equal(txt2.W, refTxt.W) {
				t.Fatalf("resumed weights %v %v, uninterrupted %v %v", img2.W, txt2.W, refImg.W, refTxt.W)
			}
			seen := append(slices.Clone(img.valLosses), img2.valLosses...)
			if !slices.Equal(seen, refImg.valLosses) {
				t.Fatalf("validation losses %v, uninterrupted %v", seen, refImg.valLosses)
			}
		})
	}
}

// TestMustResumeWithoutCheckpoint: a resume the user asked for finds no
// checkpoint and says so, instead of training from step 0.
func TestMustResumeWithoutCheckpoint(t *testing.T) {
	p, img, _ := newParts()
	_, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: 3, CheckpointDir: t.TempDir(), Resume: true, MustResume: true}, p)
	if !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("err = %v, want ErrNoCheckpoint", err)
	}
	if img.steps != 0 {
		t.Fatalf("trained %d steps", img.steps)
	}
}

// fromProgress records what a resumed run's progress bar is told.
type fromProgress struct{ from, added int }

func (p *fromProgress) Add(n int)       { p.added += n }
func (p *fromProgress) Describe(string) {}
func (p *fromProgress) From(step int)   { p.from = step }

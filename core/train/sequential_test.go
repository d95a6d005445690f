package train

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// overlapEnc wraps an encoder and records, with its twin, how many encoder
// calls are in flight at once.
type overlapEnc struct {
	*linEnc
	w *overlapWatch
}

type overlapWatch struct {
	mu          sync.Mutex
	now, most   int
	rendezvous  chan struct{} // closed when a second call joins a first
	waitForPeer time.Duration // how long a first call waits for a second
}

func (w *overlapWatch) enter() {
	w.mu.Lock()
	w.now++
	w.most = max(w.most, w.now)
	if w.now == 2 {
		select {
		case <-w.rendezvous:
		default:
			close(w.rendezvous)
		}
	}
	w.mu.Unlock()
	// Give the other encoder's call time to start, so that calls that may
	// overlap do.
	select {
	case <-w.rendezvous:
	case <-time.After(w.waitForPeer):
	}
}

func (w *overlapWatch) exit() {
	w.mu.Lock()
	w.now--
	w.mu.Unlock()
}

func (e overlapEnc) Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	e.w.enter()
	defer e.w.exit()
	return e.linEnc.Forward(ctx, req)
}

func (e overlapEnc) Backward(ctx context.Context, g *tensor.Tensor) error {
	e.w.enter()
	defer e.w.exit()
	return e.linEnc.Backward(ctx, g)
}

func (e overlapEnc) Step(ctx context.Context, req sdk.StepRequest) error {
	e.w.enter()
	defer e.w.exit()
	return e.linEnc.Step(ctx, req)
}

// TestSequentialEncoders checks that SequentialEncoders never has both
// encoders busy at once, that the default does run them together, and that
// both orders train to the same weights.
func TestSequentialEncoders(t *testing.T) {
	run := func(sequential bool, chunk int) (*overlapWatch, *linEnc, *linEnc) {
		t.Helper()
		p, img, txt := newParts()
		w := &overlapWatch{rendezvous: make(chan struct{}), waitForPeer: 2 * time.Millisecond}
		if !sequential {
			w.waitForPeer = 10 * time.Second // the first call waits for the second
		}
		p.Image, p.Text = overlapEnc{img, w}, overlapEnc{txt, w}
		cfg := Config{BatchSize: 8, MaxSteps: 5, Seed: 4, SequentialEncoders: sequential, GradCacheChunk: chunk, ValSplit: "val"}
		if _, err := Run(context.Background(), cfg, p); err != nil {
			t.Fatal(err)
		}
		return w, img, txt
	}
	for _, chunk := range []int{0, 3} {
		seq, sImg, sTxt := run(true, chunk)
		if seq.most != 1 {
			t.Errorf("chunk %d: sequential encoders: %d calls in flight at once, want 1", chunk, seq.most)
		}
		par, pImg, pTxt := run(false, chunk)
		if par.most != 2 {
			t.Errorf("chunk %d: concurrent encoders: at most %d call in flight, want 2", chunk, par.most)
		}
		for i := range sImg.W {
			if sImg.W[i] != pImg.W[i] || sTxt.W[i] != pTxt.W[i] {
				t.Fatalf("chunk %d: weights differ at %d: sequential %v/%v, concurrent %v/%v", chunk, i, sImg.W[i], sTxt.W[i], pImg.W[i], pTxt.W[i])
			}
		}
	}
}

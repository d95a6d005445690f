package train

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/convirt/convirt/plugins/sdk"
)

// EpochOrder is the order of the n training pairs in an epoch: a permutation
// fixed by the seed and the epoch alone, so a resumed run reads the same
// batches as an uninterrupted one.
func EpochOrder(n int, seed int64, epoch int) []int {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(epoch)+0x9e3779b97f4a7c15))
	return r.Perm(n)
}

// batchResult is one prefetched batch or the error that stopped fetching.
type batchResult struct {
	b   *sdk.Batch
	err error
}

// prefetcher fetches the next batches of the training split while the
// current step runs.
type prefetcher struct {
	out    chan batchResult
	cancel context.CancelFunc
	done   chan struct{}
}

func newPrefetcher(ctx context.Context, d Dataset, cfg Config, n, perEpoch, epoch, pos int) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{out: make(chan batchResult, cfg.Prefetch), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.out)
		// send hands a batch (or the error that ends fetching) to the loop;
		// it reports whether fetching goes on.
		send := func(b *sdk.Batch, err error) bool {
			select {
			case p.out <- batchResult{b, err}:
				return err == nil
			case <-ctx.Done():
				return false
			}
		}
		for e := epoch; ; e++ {
			order := EpochOrder(n, cfg.Seed, e)
			fetch := func(i int) (*sdk.Batch, error) {
				idx := order[i*cfg.BatchSize : (i+1)*cfg.BatchSize]
				b, err := d.Batch(ctx, sdk.BatchRequest{Split: cfg.TrainSplit, Indices: idx, Augment: cfg.Augment, Seed: cfg.Seed, Epoch: e})
				if err != nil {
					return nil, fmt.Errorf("epoch %d batch %d: %w", e+1, i, err)
				}
				return b, nil
			}
			w := max(cfg.LengthBuckets, 1)
			// A resumed epoch refetches its window from the start, so that
			// the window regroups exactly as it did the first time.
			for w0 := pos / w * w; w0 < perEpoch; w0 += w {
				window := make([]*sdk.Batch, 0, w)
				for i := w0; i < min(w0+w, perEpoch); i++ {
					b, err := fetch(i)
					if err != nil {
						send(nil, err)
						return
					}
					window = append(window, b)
				}
				if w > 1 {
					var err error
					if window, err = regroup(window, windowRNG(cfg.Seed, e, w0)); err != nil {
						send(nil, fmt.Errorf("epoch %d batches %d-%d: %w", e+1, w0, w0+len(window)-1, err))
						return
					}
				}
				for j := max(pos, w0) - w0; j < len(window); j++ {
					if !send(window[j], nil) {
						return
					}
				}
			}
			pos = 0
		}
	}()
	return p
}

func (p *prefetcher) next() (*sdk.Batch, error) {
	r, ok := <-p.out
	if !ok {
		return nil, fmt.Errorf("data: prefetcher stopped")
	}
	return r.b, r.err
}

func (p *prefetcher) stop() {
	p.cancel()
	<-p.done
}

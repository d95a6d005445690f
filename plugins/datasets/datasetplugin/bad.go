package datasetplugin

import (
	"fmt"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
)

const (
	// minSeen is how many samples a split must have (index rows at open
	// time), or Batch must have served, before its bad share is judged: a
	// tiny split is not failed for one bad sample before it has been read a
	// few times over.
	minSeen = 50
	// maxListed bounds the problems kept for the error and the log.
	maxListed = 5
)

// tally counts one split's bad samples over the whole split: rows the
// reader rejected while indexing, and the distinct samples that failed to
// load in any Batch. The bad share is that count over the split's rows, so
// it does not depend on the order or the batches the samples came in, nor
// on how many epochs have read them.
type tally struct {
	indexed, rejected int // open time: examples kept, problems reported
	served            int // Batch: samples asked for, over every call
	bad               map[int]bool
	first             []source.Problem
}

func newTally(s source.Source) *tally {
	t := &tally{indexed: s.Len(), rejected: len(s.Problems())} // add makes bad
	t.keep(s.Problems())
	return t
}

func (t *tally) keep(ps []source.Problem) {
	for _, p := range ps {
		if len(t.first) >= maxListed {
			return
		}
		t.first = append(t.first, p)
	}
}

// add records a Batch call that asked for asked samples, of which the
// samples at indices idx failed to load with problems bad (bad[i] about
// idx[i]). It returns the problems of samples not counted before.
func (t *tally) add(asked int, bad []source.Problem, idx []int) []source.Problem {
	if t.bad == nil {
		t.bad = map[int]bool{}
	}
	t.served += asked
	var fresh []source.Problem
	for i, p := range bad {
		if i < len(idx) && t.bad[idx[i]] {
			continue
		}
		if i < len(idx) {
			t.bad[idx[i]] = true
		}
		fresh = append(fresh, p)
	}
	t.keep(fresh)
	return fresh
}

// count is the number of the split's samples known to be bad.
func (t *tally) count() int { return t.rejected + len(t.bad) }

// share is the split's share of bad samples known so far.
func (t *tally) share() float64 {
	total := t.indexed + t.rejected
	if total == 0 {
		return 0
	}
	return float64(t.count()) / float64(total)
}

// check returns an error once the split's bad share is judged (enough rows,
// or enough samples served) and above limit.
func (t *tally) check(dataset, split string, limit float64) error {
	total := t.indexed + t.rejected
	if total < minSeen && t.served < minSeen {
		return nil
	}
	share := t.share()
	if share <= limit {
		return nil
	}
	first := make([]string, len(t.first))
	for i, p := range t.first {
		first[i] = p.Error()
	}
	return fmt.Errorf("dataset %s split %s: too many bad samples: %d of the split's %d samples are bad "+
		"(%d index rows rejected at open time, %d samples failed to load so far): %.1f%% > max_bad_fraction %.1f%%; "+
		"fix the data or raise max_bad_fraction; first problems: %s",
		dataset, split, t.count(), total, t.rejected, len(t.bad), 100*share, 100*limit, strings.Join(first, "; "))
}

// count adds a batch's skipped samples (bad, at indices idx) to the split's
// tally, logs the first ones, and fails once the split's bad share passes
// max_bad_fraction.
func (p *Plugin) count(sp *split, req sdk.BatchRequest, bad []source.Problem, idx []int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	before := len(sp.tally.bad)
	for i, b := range sp.tally.add(len(req.Indices), bad, idx) {
		if n := before + i + 1; n <= maxListed {
			p.log.Warn("bad sample skipped", "dataset", p.name, "split", req.Split, "problem", b.Error(), "skipped", n)
		} else if n == maxListed+1 {
			p.log.Warn("more bad samples are skipped and counted without logging", "dataset", p.name, "split", req.Split)
		}
	}
	return sp.tally.check(p.name, req.Split, p.cfg.MaxBad)
}

package dataset

import (
	"fmt"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/source"
)

const (
	// minSeen is how many samples a split must have shown (index rows at
	// open time, or samples served by Batch) before its bad share is judged.
	minSeen = 50
	// maxListed bounds the problems kept for the error and the log.
	maxListed = 5
)

// tally counts one split's bad samples: rows the reader rejected while
// indexing, and samples Batch skipped because they failed to load.
type tally struct {
	indexed, rejected int // open time: examples kept, problems reported
	served, skipped   int // Batch: samples asked for, samples skipped
	first             []source.Problem
}

func newTally(s source.Source) *tally {
	t := &tally{indexed: s.Len(), rejected: len(s.Problems())}
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

// add records a Batch call that asked for asked samples and skipped bad.
func (t *tally) add(asked int, bad []source.Problem) {
	t.served += asked
	t.skipped += len(bad)
	t.keep(bad)
}

// share estimates the split's share of bad samples: the rows rejected at
// open time, plus the indexed examples times the share of served samples
// that were skipped (counted once minSeen samples have been served, so a
// single unlucky batch is not extrapolated).
func (t *tally) share() float64 {
	total := t.indexed + t.rejected
	if total == 0 {
		return 0
	}
	s := float64(t.rejected) / float64(total)
	if t.served >= minSeen {
		s += float64(t.indexed) / float64(total) * float64(t.skipped) / float64(t.served)
	}
	return s
}

// check returns an error once the bad share is known (enough samples seen)
// and above limit.
func (t *tally) check(dataset, split string, limit float64) error {
	if t.indexed+t.rejected < minSeen && t.served < minSeen {
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
	return fmt.Errorf("dataset %s split %s: too many bad samples: %d of %d samples served were skipped and %d of %d index rows were rejected at open time "+
		"(estimated bad share %.1f%% > max_bad_fraction %.1f%%); fix the data or raise max_bad_fraction; first problems: %s",
		dataset, split, t.skipped, t.served, t.rejected, t.indexed+t.rejected, 100*share, 100*limit, strings.Join(first, "; "))
}

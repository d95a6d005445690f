package soak

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// sameCheckpoints compares the newest checkpoints of two runs: the loop's
// position and every part's state, byte for byte.
func sameCheckpoints(clean, dirty string) ([]string, error) {
	a, err := train.LoadLatest(filepath.Join(clean, runs.CheckpointsDir))
	if err != nil {
		return nil, err
	}
	b, err := train.LoadLatest(filepath.Join(dirty, runs.CheckpointsDir))
	if err != nil {
		return nil, err
	}
	var diffs []string
	if a.State.Step != b.State.Step {
		diffs = append(diffs, fmt.Sprintf("final checkpoint at step %d undisturbed, %d disturbed", a.State.Step, b.State.Step))
	}
	names := slices.Sorted(maps.Keys(a.Parts))
	for name := range b.Parts {
		if _, ok := a.Parts[name]; !ok {
			names = append(names, name) // a part only the disturbed run has differs too
		}
	}
	for _, name := range names {
		st, ok := a.Parts[name]
		other, okB := b.Parts[name]
		if ok != okB || !bytes.Equal(st, other) {
			diffs = append(diffs, fmt.Sprintf("final %s state differs", name))
		}
	}
	return diffs, nil
}

// compare prints the soak's summary and fails on any difference.
func (s *soak) compare(clean, dirty string, took time.Duration) error {
	diffs, err := sameCheckpoints(clean, dirty)
	if err != nil {
		return err
	}
	a, err := results.Read(filepath.Join(clean, runs.ResultsFile))
	if err != nil {
		return err
	}
	b, err := results.Read(filepath.Join(dirty, runs.ResultsFile))
	if err != nil {
		return err
	}
	log, _ := os.ReadFile(filepath.Join(dirty, runs.LogsDir, "run.log"))
	restarts := strings.Count(string(log), "restarting the plugins")
	if len(a.Entries) != len(b.Entries) {
		diffs = append(diffs, fmt.Sprintf("%d entries undisturbed, %d disturbed", len(a.Entries), len(b.Entries)))
	} else {
		for i, e := range a.Entries {
			if f := b.Entries[i]; f.Mean != e.Mean || f.Metric != e.Metric {
				diffs = append(diffs, fmt.Sprintf("%s/%s/%s/%v %s: %v undisturbed, %v disturbed", e.Task, e.Protocol, e.Init, e.Fraction, e.Metric, e.Mean, f.Mean))
			}
		}
	}
	fmt.Fprintf(s.out, "soak: kills survived %d (%s), plugin restarts %d, host starts %d, final checkpoints and %d result entries compared, %d differences, %s\n",
		len(s.killed), strings.Join(s.killed, ", "), restarts, s.hostStarts, len(a.Entries), len(diffs), took.Round(time.Second))
	for _, d := range diffs {
		fmt.Fprintf(s.out, "  differs: %s\n", d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the disturbed run's results differ from the undisturbed run's (%d entries)", len(diffs))
	}
	fmt.Fprintf(s.out, "soak: same results (undisturbed %s, disturbed %s)\n", clean, dirty)
	return nil
}

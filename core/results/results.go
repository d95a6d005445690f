// Package results writes the evaluation outputs of a run: results.json (one
// entry per task x protocol x init x fraction x metric, with the mean,
// sample standard deviation and Student-t interval over seeds, the
// test-set bootstrap interval, and what the numbers cover; documented in
// docs/results.md), the per-probe predictions CSVs, and Markdown tables laid
// out like the paper's Table 1 and its retrieval table. It is the host's:
// evaluators report scores through the SDK (sdk.Score, the metric keys of
// sdk.EvalResult.Metrics), and the host aggregates and records them here.
package results

import (
	"fmt"
	"math"
	"strings"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// Version is the version of the results.json format. Version 2 replaced
// version 1's "ci95" (a test-set bootstrap interval that read like an
// interval over seeds) with "test_bootstrap95" and added "seed_t95",
// "labels", "probe" and "notes". Read converts version 1 files.
const Version = 2

// Entry is one aggregated result.
type Entry struct {
	Task     string  `json:"task"`     // e.g. "chexpert"
	Protocol string  `json:"protocol"` // "linear", "finetune", "retrieval-image", ...
	Init     string  `json:"init"`     // e.g. "random", "imagenet", "convirt"
	Fraction float64 `json:"fraction"` // fraction of training labels, in (0, 1]
	Metric   string  `json:"metric"`   // e.g. "auc", "accuracy", "p@10"
	// Mean is the mean of Values over the seeds.
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation of Values (n - 1; 0 for one
	// seed).
	Std float64 `json:"std"`
	// SeedT95 is the Student-t 95% interval for Mean over the seeds,
	// Mean ± t_{0.975, n-1}·Std/√n: how far the mean over n seeds (their
	// training subsets and the probe's own randomness) is from its
	// expectation. Absent (nil) for one seed.
	SeedT95 *[2]float64 `json:"seed_t95,omitempty"`
	// TestBootstrap95 is the 95% percentile bootstrap interval for Mean
	// over resamples of the test examples (or retrieval queries), the
	// probes held fixed: the test set's sampling error only.
	TestBootstrap95 [2]float64 `json:"test_bootstrap95"`
	Seeds           []uint64   `json:"seeds"`
	Values          []float64  `json:"values"` // per seed, in the order of Seeds
	// Labels lists, for a mean over labels (metric "auc" of a binary or
	// multi-label task), the labels that entered it: those with both
	// classes in the test split, each with its own "auc:<label>" entry.
	Labels []string `json:"labels,omitempty"`
	// Probe records the linear probes' regularisation, when the evaluator
	// reported it.
	Probe *Probe `json:"probe,omitempty"`
	// Weights records which pretrained weights init "convirt" evaluated
	// (absent for other inits, whose weights come from the encoder config).
	Weights *Weights `json:"weights,omitempty"`
	// Notes say in words what the spread means where it can mislead: one
	// seed, 100% of the labels, identical values over seeds.
	Notes []string `json:"notes,omitempty"`
}

// Probe is the provenance of a cell's linear probes.
type Probe struct {
	// L2 is each seed's L2 strength (in the order of the entry's Seeds):
	// the penalty (l2/2)·||w||² added to each label's mean loss.
	L2 []float64 `json:"l2"`
	// Selection says how L2 was set.
	Selection string `json:"selection"`
}

// Weights is the provenance of the pretrained weights of init "convirt".
type Weights struct {
	// Select is the evaluation's checkpoint_select: "best" or "last".
	Select string `json:"select"`
	// Used is what was loaded: "best", "last" or "file" (a checkpoint
	// file named by the evaluation).
	Used string `json:"used"`
	// Step is the pretraining step of the weights.
	Step int `json:"step"`
	// ValLoss is the pretraining validation loss the weights were kept
	// for; absent when none was measured.
	ValLoss *float64 `json:"val_loss,omitempty"`
	// Source is the checkpoint file, or this run's final encoders.
	Source string `json:"source"`
	// Note says why best became last, if it did.
	Note string `json:"note,omitempty"`
}

// File is the content of results.json.
type File struct {
	Version int     `json:"version"`
	Entries []Entry `json:"entries"`
}

// Aggregate builds an entry from per-seed values (in the order of seeds)
// and the test-set bootstrap interval computed by the caller: the mean,
// sample standard deviation, Student-t interval over the seeds, and the
// notes that say what the spread means.
func Aggregate(e Entry, seeds []uint64, values []float64, testBoot stats.Interval) (Entry, error) {
	if len(seeds) != len(values) {
		return Entry{}, fmt.Errorf("results: %d seeds but %d values", len(seeds), len(values))
	}
	mean, std, err := stats.MeanStd(values)
	if err != nil {
		return Entry{}, fmt.Errorf("results: %s/%s/%s: %w", e.Task, e.Protocol, e.Init, err)
	}
	e.Mean, e.Std, e.TestBootstrap95 = mean, std, [2]float64{testBoot.Lo, testBoot.Hi}
	e.Seeds, e.Values = append([]uint64(nil), seeds...), append([]float64(nil), values...)
	e.SeedT95, e.Notes = nil, nil
	if len(values) > 1 {
		iv, err := SeedInterval(values, 0.95)
		if err != nil {
			return Entry{}, fmt.Errorf("results: %s/%s/%s: %w", e.Task, e.Protocol, e.Init, err)
		}
		e.SeedT95 = &[2]float64{iv.Lo, iv.Hi}
	}
	e.Notes = spreadNotes(e)
	return e, e.Validate()
}

// Notes of Aggregate, exported so that tables can repeat them.
const (
	NoteOneSeed   = "one seed (or one run): no spread over seeds; std is 0 and there is no seed_t95"
	NoteAllLabels = "100% of the labels: every seed trains on the same examples, so the seeds differ only by the probe's own randomness"
	NoteIdentical = "the seeds gave identical values: std is 0 because nothing varied between them, not because the estimate is exact"
)

// spreadNotes says what e's spread over seeds means where it can mislead.
func spreadNotes(e Entry) []string {
	if len(e.Values) == 1 {
		return []string{NoteOneSeed}
	}
	var out []string
	if e.Fraction == 1 {
		out = append(out, NoteAllLabels)
	}
	same := true
	for _, v := range e.Values[1:] {
		same = same && v == e.Values[0]
	}
	if same {
		out = append(out, NoteIdentical)
	}
	return out
}

// Score is one metric of an evaluation cell as an evaluator reports it
// (sdk.Score without the transport).
type Score struct {
	Metric string
	Seeds  []uint64
	Values []float64 // per seed, in the order of Seeds
	// TestBootstrap is the bootstrap interval over test examples.
	TestBootstrap stats.Interval
}

// Cell builds the entries of one evaluation cell (cell sets Task,
// Protocol, Init and Fraction) from its scores and the evaluator's flat
// numbers (sdk.EvalResult.Metrics): Aggregate per score, plus the labels
// each mean AUC covers (those with an "auc:<label>" score in the cell) and,
// when the evaluator reported them (sdk.ProbeL2Key), the probes' L2 strengths
// and how they were chosen.
func Cell(cell Entry, scores []Score, counts map[string]float64) ([]Entry, error) {
	var perLabel []string
	for _, s := range scores {
		if l, ok := strings.CutPrefix(s.Metric, "auc:"); ok {
			perLabel = append(perLabel, l)
		}
	}
	var out []Entry
	for _, s := range scores {
		e := cell
		e.Metric = s.Metric
		e, err := Aggregate(e, s.Seeds, s.Values, s.TestBootstrap)
		if err != nil {
			return nil, err
		}
		if s.Metric == "auc" && len(perLabel) > 0 {
			e.Labels = append([]string(nil), perLabel...)
		}
		if e.Probe, err = probeOf(e.Seeds, counts); err != nil {
			return nil, fmt.Errorf("results: %s: %w", e.id(), err)
		}
		if n := counts[sdk.ProbeUnconvergedKey]; n > 0 && e.Probe != nil {
			e.Notes = append(e.Notes, fmt.Sprintf("%d of %d probes stopped at the evaluator's max_iter before L-BFGS converged", int(n), len(e.Seeds)))
		}
		out = append(out, e)
	}
	return out, nil
}

// probeOf reads the probes' L2 strengths of seeds from counts: nil when
// the evaluator reported none, an error when it reported some seeds only.
func probeOf(seeds []uint64, counts map[string]float64) (*Probe, error) {
	p := &Probe{}
	for _, s := range seeds {
		if v, ok := counts[sdk.ProbeL2Key(s)]; ok {
			p.L2 = append(p.L2, v)
		}
	}
	switch {
	case len(p.L2) == 0:
		return nil, nil
	case len(p.L2) != len(seeds):
		return nil, fmt.Errorf("the evaluator reported the probe's L2 strength for %d of %d seeds", len(p.L2), len(seeds))
	}
	if counts[sdk.ProbeSelectedKey] == 1 {
		p.Selection = fmt.Sprintf("chosen for each seed from the evaluator's l2_grid by the loss on %d validation examples", int(counts[sdk.ValExamplesKey]))
	} else {
		p.Selection = "no validation split: the evaluator's fixed l2 (by default 1/n for n training examples, scikit-learn's C = 1)"
	}
	return p, nil
}

func (e Entry) id() string {
	return fmt.Sprintf("%s/%s/%s/%v/%s", e.Task, e.Protocol, e.Init, e.Fraction, e.Metric)
}

// Validate checks that the entry is complete and consistent.
func (e Entry) Validate() error {
	id := e.id()
	switch {
	case e.Task == "" || e.Protocol == "" || e.Init == "" || e.Metric == "":
		return fmt.Errorf("results: entry %s: task, protocol, init and metric must be set", id)
	case !(e.Fraction > 0 && e.Fraction <= 1):
		return fmt.Errorf("results: entry %s: fraction must be in (0, 1], got %v", id, e.Fraction)
	case len(e.Values) == 0 || len(e.Values) != len(e.Seeds):
		return fmt.Errorf("results: entry %s: %d values for %d seeds", id, len(e.Values), len(e.Seeds))
	case len(e.Values) > 1 && e.SeedT95 == nil:
		return fmt.Errorf("results: entry %s: %d seeds but no seed_t95", id, len(e.Values))
	case e.Probe != nil && len(e.Probe.L2) != len(e.Seeds):
		return fmt.Errorf("results: entry %s: probe l2 for %d of %d seeds", id, len(e.Probe.L2), len(e.Seeds))
	}
	nums := append([]float64{e.Mean, e.Std, e.TestBootstrap95[0], e.TestBootstrap95[1]}, e.Values...)
	if e.SeedT95 != nil {
		nums = append(nums, e.SeedT95[0], e.SeedT95[1])
	}
	if e.Probe != nil {
		nums = append(nums, e.Probe.L2...)
	}
	for _, x := range nums {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("results: entry %s holds %v", id, x)
		}
	}
	return nil
}

// Package results writes the evaluation outputs of a run: results.json (one
// entry per task x protocol x init x fraction x metric, with the mean,
// standard deviation and bootstrap interval over seeds; documented in
// docs/results.md), the per-probe predictions CSVs, and Markdown tables laid
// out like the paper's Table 1 and its retrieval table.
package results

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/convirt/convirt/core/atomicfile"
	"github.com/convirt/convirt/plugins/evaluators/metrics"
)

// Version is the version of the results.json format.
const Version = 1

// Entry is one aggregated result.
type Entry struct {
	Task     string     `json:"task"`     // e.g. "chexpert"
	Protocol string     `json:"protocol"` // "linear", "finetune", "retrieval-image", ...
	Init     string     `json:"init"`     // e.g. "random", "imagenet", "convirt"
	Fraction float64    `json:"fraction"` // fraction of training labels, in (0, 1]
	Metric   string     `json:"metric"`   // e.g. "auc", "accuracy", "p@10"
	Mean     float64    `json:"mean"`
	Std      float64    `json:"std"`
	CI95     [2]float64 `json:"ci95"`
	Seeds    []uint64   `json:"seeds"`
	Values   []float64  `json:"values"`
}

// File is the content of results.json.
type File struct {
	Version int     `json:"version"`
	Entries []Entry `json:"entries"`
}

// Aggregate builds an entry from per-seed values (in the order of seeds)
// and a bootstrap interval computed by the caller.
func Aggregate(e Entry, seeds []uint64, values []float64, ci metrics.Interval) (Entry, error) {
	if len(seeds) != len(values) {
		return Entry{}, fmt.Errorf("results: %d seeds but %d values", len(seeds), len(values))
	}
	mean, std, err := metrics.MeanStd(values)
	if err != nil {
		return Entry{}, fmt.Errorf("results: %s/%s/%s: %w", e.Task, e.Protocol, e.Init, err)
	}
	e.Mean, e.Std, e.CI95 = mean, std, [2]float64{ci.Lo, ci.Hi}
	e.Seeds, e.Values = append([]uint64(nil), seeds...), append([]float64(nil), values...)
	return e, e.Validate()
}

// Validate checks that the entry is complete and consistent.
func (e Entry) Validate() error {
	id := fmt.Sprintf("%s/%s/%s/%v/%s", e.Task, e.Protocol, e.Init, e.Fraction, e.Metric)
	switch {
	case e.Task == "" || e.Protocol == "" || e.Init == "" || e.Metric == "":
		return fmt.Errorf("results: entry %s: task, protocol, init and metric must be set", id)
	case !(e.Fraction > 0 && e.Fraction <= 1):
		return fmt.Errorf("results: entry %s: fraction must be in (0, 1], got %v", id, e.Fraction)
	case len(e.Values) == 0 || len(e.Values) != len(e.Seeds):
		return fmt.Errorf("results: entry %s: %d values for %d seeds", id, len(e.Values), len(e.Seeds))
	}
	for _, x := range append([]float64{e.Mean, e.Std, e.CI95[0], e.CI95[1]}, e.Values...) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("results: entry %s holds %v", id, x)
		}
	}
	return nil
}

// Write validates f and writes it as indented JSON to path atomically
// (through a temporary file in the same directory and a rename).
func Write(path string, f *File) error {
	f.Version = Version
	for _, e := range f.Entries {
		if err := e.Validate(); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encode %s: %w", path, err)
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

// Read reads and validates a results.json.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("results: %s: version %d, want %d", path, f.Version, Version)
	}
	for i, e := range f.Entries {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("results: %s: entry %d: %w", path, i, err)
		}
	}
	return &f, nil
}

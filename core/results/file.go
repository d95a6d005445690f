package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

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

// Read reads and validates a results.json. A version 1 file is converted
// (upgradeV1): its "ci95" was a test-set bootstrap interval and becomes
// TestBootstrap95; the spread over seeds is recomputed from its values.
// Other versions are an error naming the file.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	var f *File
	switch head.Version {
	case Version:
		f = &File{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f); err != nil {
			return nil, fmt.Errorf("results: %s: %w", path, err)
		}
	case 1:
		if f, err = upgradeV1(b); err != nil {
			return nil, fmt.Errorf("results: %s (version 1): %w", path, err)
		}
	default:
		return nil, fmt.Errorf("results: %s: version %d, this convirt reads versions 1 and %d", path, head.Version, Version)
	}
	for i, e := range f.Entries {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("results: %s: entry %d: %w", path, i, err)
		}
	}
	return f, nil
}

// upgradeV1 converts a version 1 results.json: each entry is aggregated
// again from its seeds and values with its "ci95" as the test-set
// bootstrap interval, and each mean AUC gets the labels of the per-label
// AUC entries of its cell. Probe provenance did not exist and stays
// absent.
func upgradeV1(b []byte) (*File, error) {
	var v1 struct {
		Entries []struct {
			Entry
			CI95 [2]float64 `json:"ci95"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(b, &v1); err != nil {
		return nil, err
	}
	f := &File{Version: Version}
	for i, old := range v1.Entries {
		e, err := Aggregate(Entry{Task: old.Task, Protocol: old.Protocol, Init: old.Init, Fraction: old.Fraction, Metric: old.Metric},
			old.Seeds, old.Values, stats.Interval{Lo: old.CI95[0], Hi: old.CI95[1]})
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		f.Entries = append(f.Entries, e)
	}
	for i, e := range f.Entries {
		if e.Metric != "auc" {
			continue
		}
		for _, o := range f.Entries {
			if l, ok := strings.CutPrefix(o.Metric, "auc:"); ok && o.Task == e.Task && o.Protocol == e.Protocol && o.Init == e.Init && o.Fraction == e.Fraction {
				f.Entries[i].Labels = append(f.Entries[i].Labels, l)
			}
		}
	}
	return f, nil
}

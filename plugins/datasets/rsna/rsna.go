// Package rsna reads the RSNA Pneumonia Detection Challenge training set:
// one DICOM per patient, labelled positive when any of the patient's rows in
// stage_2_train_labels.csv has Target 1. The challenge's test labels are not
// public, so the splits are drawn from the training patients: test by a
// stable hash of the patient id, valid as a stratified holdout of the other
// (training) patients, train the rest.
package rsna

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"path/filepath"
	"slices"

	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// Config selects the split.
type Config struct {
	// Split is train, valid, test or all.
	Split string `json:"split" schema:"-"`
	// TestFrac is the share of patients in test, chosen by a stable hash of
	// the patient id (so a patient's split does not depend on the others).
	TestFrac float64 `json:"test_frac" min:"0" max:"1" doc:"share of patients in test, by a stable hash of the patient id; the others are the training patients"`
	// HoldoutFrac is the share of the remaining (training) patients held
	// out of train as valid, for early stopping: a stratified draw by
	// subset.Holdout (patients whole, seed HoldoutSeed). The paper's
	// "held-out 10% of train".
	HoldoutFrac float64 `json:"holdout_frac" min:"0" max:"0.5" doc:"share of the training patients held out of train as valid (stratified by label, seed 0): the held-out 10% of train that early stopping uses; 0: no valid split"`
	// ImageDir holds {patientId}.dcm (default stage_2_train_images).
	ImageDir string `json:"image_dir" doc:"folder of {patientId}.dcm, relative to root"`
}

// Defaults of Config.
const (
	DefaultTestFrac    = 0.15
	DefaultHoldoutFrac = 0.1
	DefaultImageDir    = "stage_2_train_images"
	// HoldoutSeed seeds the valid holdout (the evaluators' default val_seed).
	HoldoutSeed = 0
)

// DefaultConfig returns the documented defaults (Open takes the fractions
// as given: 0 is a valid share).
func DefaultConfig() Config {
	return Config{TestFrac: DefaultTestFrac, HoldoutFrac: DefaultHoldoutFrac, ImageDir: DefaultImageDir}
}

// configSchema is Config's schema (Split excepted), derived from its tags
// with DefaultConfig's values.
var configSchema = schema.MustDerive(DefaultConfig())

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// Validate checks the split fractions.
func (c Config) Validate() error { return schema.ValidateAs("rsna", c) }

// Open indexes root.
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.ImageDir == "" {
		c.ImageDir = DefaultImageDir
	}
	f, cols, err := csvfile.ReadCols(filepath.Join(root, "stage_2_train_labels.csv"), "patientId", "Target")
	if err != nil {
		return nil, fmt.Errorf("rsna: %w", err)
	}
	s := &source.Slice{Names: []string{"Pneumonia"}, Kind: source.Binary, Issues: f.Problems}
	target := map[string]float32{}
	for _, r := range f.Rows {
		id := r.Fields[cols[0]]
		var t float32
		switch r.Fields[cols[1]] {
		case "1":
			t = 1
		case "0":
		default:
			s.Issues = append(s.Issues, f.Problem(r, "Target %q is not 0 or 1", r.Fields[cols[1]]))
			continue
		}
		target[id] = max(target[id], t)
	}
	ids := slices.Sorted(maps.Keys(target))
	split, err := c.assign(ids, target)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if c.Split != "all" && split[id] != c.Split {
			continue
		}
		p, err := source.Resolve(root, c.ImageDir+"/"+id+".dcm")
		if err != nil {
			s.Issues = append(s.Issues, source.Problem{Path: f.Path, Msg: err.Error()})
			continue
		}
		s.Examples = append(s.Examples, source.Example{ID: id, ImagePath: p, Labels: []float32{target[id]}, Group: id})
	}
	return s, nil
}

// assign puts each patient (ids sorted) in test, valid or train: test by
// hash, valid as the stratified holdout of the others.
func (c Config) assign(ids []string, target map[string]float32) (map[string]string, error) {
	split := make(map[string]string, len(ids))
	var pool []string
	var labels [][]float32
	cut := uint64(math.Round((1 - c.TestFrac) * buckets))
	for _, id := range ids {
		if bucket(id) >= cut {
			split[id] = "test"
			continue
		}
		split[id] = "train"
		pool = append(pool, id)
		labels = append(labels, []float32{target[id]})
	}
	if c.HoldoutFrac == 0 || len(pool) == 0 {
		return split, nil
	}
	held, err := subset.Holdout(labels, pool, c.HoldoutFrac, HoldoutSeed)
	if err != nil {
		return nil, fmt.Errorf("rsna: holdout_frac: %w", err)
	}
	for _, i := range held {
		split[pool[i]] = "valid"
	}
	return split, nil
}

// buckets is the resolution of the hashed test split.
const buckets = 1_000_000

// bucket maps a patient id to [0, buckets), stably: the patients of the top
// test_frac of buckets are the test set.
func bucket(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64() % buckets
}

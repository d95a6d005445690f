// Package rsna reads the RSNA Pneumonia Detection Challenge training set:
// one DICOM per patient, labelled positive when any of the patient's rows in
// stage_2_train_labels.csv has Target 1. The challenge's test labels are not
// public, so train/valid/test splits are drawn from the training patients
// by a stable hash of the patient id.
package rsna

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"sort"

	"github.com/convirt/convirt/core/schema"
	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
)

// Config selects the split.
type Config struct {
	// Split is train, valid, test or all.
	Split string `json:"split" yaml:"split"`
	// Fractions of patients in train and valid (the rest is test); default
	// 0.7 and 0.15.
	TrainFrac float64 `json:"train_frac" yaml:"train_frac"`
	ValidFrac float64 `json:"valid_frac" yaml:"valid_frac"`
	// ImageDir holds {patientId}.dcm (default stage_2_train_images).
	ImageDir string `json:"image_dir" yaml:"image_dir"`
}

// Defaults of Config.
const (
	DefaultTrainFrac = 0.7
	DefaultValidFrac = 0.15
	DefaultImageDir  = "stage_2_train_images"
)

// Fields describes Config as plugin config keys (Split excepted: the dataset
// plugin sets it per request). Defaults are those Open applies.
func Fields() []schema.Field {
	return []schema.Field{
		{Name: "train_frac", Type: schema.Float, Default: DefaultTrainFrac, Min: schema.Ptr(0), Max: schema.Ptr(1),
			Doc: "share of patients in train (by a stable hash of the patient id)"},
		{Name: "valid_frac", Type: schema.Float, Default: DefaultValidFrac, Min: schema.Ptr(0), Max: schema.Ptr(1),
			Doc: "share of patients in valid; the rest (1 - train_frac - valid_frac) is test"},
		{Name: "image_dir", Type: schema.String, Default: DefaultImageDir, Doc: "folder of {patientId}.dcm, relative to root"},
	}
}

// Validate checks the split fractions.
func (c Config) Validate() error {
	if c.TrainFrac < 0 || c.ValidFrac < 0 || c.TrainFrac+c.ValidFrac > 1 {
		return fmt.Errorf("rsna: train_frac %v and valid_frac %v must be non-negative with a sum of at most 1", c.TrainFrac, c.ValidFrac)
	}
	return nil
}

// Open indexes root.
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	if c.TrainFrac == 0 && c.ValidFrac == 0 {
		c.TrainFrac, c.ValidFrac = DefaultTrainFrac, DefaultValidFrac
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.ImageDir == "" {
		c.ImageDir = DefaultImageDir
	}
	f, err := csvfile.Read(filepath.Join(root, "stage_2_train_labels.csv"), csvfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("rsna: %w", err)
	}
	cols, err := f.Cols("patientId", "Target")
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
	ids := make([]string, 0, len(target))
	for id := range target {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if c.Split != "all" && splitOf(id, c.TrainFrac, c.ValidFrac) != c.Split {
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

func splitOf(id string, train, valid float64) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	u := float64(h.Sum64()%1_000_000) / 1_000_000
	switch {
	case u < train:
		return "train"
	case u < train+valid:
		return "valid"
	}
	return "test"
}

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

// Open indexes root.
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	if c.TrainFrac == 0 && c.ValidFrac == 0 {
		c.TrainFrac, c.ValidFrac = 0.7, 0.15
	}
	if c.ImageDir == "" {
		c.ImageDir = "stage_2_train_images"
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

// Package mura reads MURA v1.1: images listed in {split}_image_paths.csv,
// each labelled with its study's label from {split}_labeled_studies.csv
// (1 = abnormal).
package mura

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Config selects the split and body parts.
type Config struct {
	Split string `json:"split" schema:"-"` // train or valid
	// BodyParts keeps only these study types (e.g. XR_WRIST); empty keeps all.
	BodyParts []string `json:"body_parts" doc:"study types kept (default: all)"`
}

// BodyParts are MURA's study types.
var BodyParts = []string{"XR_ELBOW", "XR_FINGER", "XR_FOREARM", "XR_HAND", "XR_HUMERUS", "XR_SHOULDER", "XR_WRIST"}

// configSchema is Config's schema (Split excepted), derived from its tags;
// the study types allowed are BodyParts.
var configSchema = schema.MustDerive(Config{}, schema.WithEnum("body_parts", BodyParts...))

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// Open indexes root (the MURA-v1.1 folder).
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	st, err := csvfile.Read(filepath.Join(root, c.Split+"_labeled_studies.csv"), csvfile.Options{NoHeader: true, Fields: 2})
	if err != nil {
		return nil, fmt.Errorf("mura: %w", err)
	}
	s := &source.Slice{Names: []string{"Abnormal"}, Kind: source.Binary, Issues: st.Problems}
	study := map[string]float32{}
	for _, r := range st.Rows {
		switch r.Fields[1] {
		case "0", "1":
			study[strings.TrimSuffix(r.Fields[0], "/")] = float32(r.Fields[1][0] - '0')
		default:
			s.Issues = append(s.Issues, st.Problem(r, "label %q is not 0 or 1", r.Fields[1]))
		}
	}
	im, err := csvfile.Read(filepath.Join(root, c.Split+"_image_paths.csv"), csvfile.Options{NoHeader: true, Fields: 1})
	if err != nil {
		return nil, fmt.Errorf("mura: %w", err)
	}
	s.Issues = append(s.Issues, im.Problems...)
	for _, r := range im.Rows {
		rel := r.Fields[0]
		dir := rel[:max(0, strings.LastIndexByte(rel, '/'))]
		label, ok := study[dir]
		if !ok {
			s.Issues = append(s.Issues, im.Problem(r, "no study label for %s", dir))
			continue
		}
		if len(c.BodyParts) > 0 && !hasPart(rel, c.BodyParts) {
			continue
		}
		p, err := source.Resolve(root, source.StripFirst(rel))
		if err != nil {
			s.Issues = append(s.Issues, im.Problem(r, "%v", err))
			continue
		}
		group := source.PatientInPath(rel) // patientNNNNN: all of a patient's studies
		if group == "" {
			group = dir
		}
		s.Examples = append(s.Examples, source.Example{ID: rel, ImagePath: p, Labels: []float32{label}, Group: group})
	}
	return s, nil
}

func hasPart(rel string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(rel, "/"+p+"/") {
			return true
		}
	}
	return false
}

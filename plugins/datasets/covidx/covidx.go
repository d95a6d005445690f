// Package covidx reads COVIDx train.txt / test.txt (space separated:
// patient_id filename label [source]) in every label variant: three classes
// (normal, pneumonia, COVID-19), the paper's task and the default, or binary
// (positive, negative: the later releases' files). The task is chosen by the
// variant option, never silently by the file: a positive/negative file read
// as three classes is an error that says to set variant: binary.
package covidx

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Label variants.
const (
	Auto       = "auto"        // three classes if any such label appears, else binary (the dataset plugin logs which)
	ThreeClass = "three-class" // normal, pneumonia, COVID-19 (the default)
	Binary     = "binary"      // COVID-19 / positive vs everything else
)

// Classes of the three-class variant, in label order.
var Classes = []string{"normal", "pneumonia", "COVID-19"}

// Config selects the split and variant.
type Config struct {
	Split string `json:"split" schema:"-"` // train or test
	// Variant is three-class (the default, also for ""), binary or auto.
	Variant string `json:"variant" enum:"three-class|binary|auto" doc:"task: three-class (normal/pneumonia/COVID-19, multiclass accuracy; a positive/negative file is an error), binary (COVID-19 or positive vs the rest, binary AUC: the positive/negative files), or auto (three-class if the file has those labels, else binary)"`
	// File overrides {split}.txt (e.g. train_COVIDx9A.txt), relative to root.
	File string `json:"file" default:"-" doc:"index file relative to root, instead of {split}.txt (e.g. train_COVIDx9A.txt); images stay under {split}/"`
}

// configSchema is Config's schema (Split excepted), derived from its tags,
// the variant defaulting to three-class.
var configSchema = schema.MustDerive(DefaultConfig())

// DefaultConfig is the config Open gives zero fields: the paper's three
// classes.
func DefaultConfig() Config { return Config{Variant: ThreeClass} }

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// Validate checks the variant against Config's enum tag ("" stands for
// DefaultConfig's).
func (c Config) Validate() error {
	return schema.ValidateAs("covidx", c.withDefaults())
}

// withDefaults is c with DefaultConfig's values in its zero fields.
func (c Config) withDefaults() Config {
	if c.Variant == "" {
		c.Variant = DefaultConfig().Variant
	}
	return c
}

// Open reads root/{split}.txt with images under root/{split}/.
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	name := c.File
	if name == "" {
		name = c.Split + ".txt"
	}
	f, err := csvfile.Read(filepath.Join(root, name), csvfile.Options{NoHeader: true, Comma: ' '})
	if err != nil {
		return nil, fmt.Errorf("covidx: %w", err)
	}
	s := &source.Slice{Issues: f.Problems}
	type row struct {
		r           csvfile.Row
		file, label string
	}
	var rows []row
	three := c.Variant == ThreeClass
	var threeLabels, binaryLabels int
	for _, r := range f.Rows {
		fl := r.Fields
		if len(fl) < 3 {
			s.Issues = append(s.Issues, f.Problem(r, "%d fields, want patient_id filename label [source]", len(fl)))
			continue
		}
		li := len(fl) - 1
		if len(fl) >= 4 {
			li = len(fl) - 2
		}
		label := fl[li]
		switch strings.ToLower(label) {
		case "normal", "pneumonia", "covid-19":
			threeLabels++
			if c.Variant == Auto {
				three = true
			}
		case "positive", "negative":
			binaryLabels++
		default:
			s.Issues = append(s.Issues, f.Problem(r, "unknown label %q", label))
			continue
		}
		rows = append(rows, row{r, strings.Join(fl[1:li], " "), strings.ToLower(label)})
	}
	if c.Variant == ThreeClass && threeLabels == 0 && binaryLabels > 0 {
		return nil, fmt.Errorf("covidx: %s: every label is positive or negative (a binary COVIDx file), but variant is three-class: set variant: binary to evaluate COVID-19 vs. the rest (binary AUC), or give a three-class file", f.Path)
	}
	if three {
		s.Kind, s.Names = source.Multiclass, Classes
	} else {
		s.Kind, s.Names = source.Binary, []string{"COVID-19"}
	}
	for _, r := range rows {
		var labels []float32
		if three {
			labels = make([]float32, 3)
			switch r.label {
			case "normal":
				labels[0] = 1
			case "pneumonia":
				labels[1] = 1
			case "covid-19":
				labels[2] = 1
			default:
				s.Issues = append(s.Issues, f.Problem(r.r, "binary label %q in a three-class file", r.label))
				continue
			}
		} else {
			labels = []float32{0}
			if r.label == "positive" || r.label == "covid-19" {
				labels[0] = 1
			}
		}
		p, err := source.Resolve(root, c.Split+"/"+r.file)
		if err != nil {
			s.Issues = append(s.Issues, f.Problem(r.r, "%v", err))
			continue
		}
		s.Examples = append(s.Examples, source.Example{ID: r.file, ImagePath: p, Labels: labels, Group: r.r.Fields[0]})
	}
	return s, nil
}

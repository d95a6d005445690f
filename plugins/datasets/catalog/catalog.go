// Package catalog maps dataset names (as recipes and the CLI spell them) to
// their readers, each with the config keys it accepts (its Fields, which the
// reader package defines next to its Config).
package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/chexpert"
	"github.com/convirt/convirt/plugins/datasets/covidx"
	"github.com/convirt/convirt/plugins/datasets/mimic"
	"github.com/convirt/convirt/plugins/datasets/mura"
	"github.com/convirt/convirt/plugins/datasets/paired"
	"github.com/convirt/convirt/plugins/datasets/retrieval8x200"
	"github.com/convirt/convirt/plugins/datasets/rsna"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Dataset describes one reader.
type Dataset struct {
	Name   string
	Splits []string // the splits Open accepts; the first is the default
	Doc    string
	// Fields are the reader's own config keys; the split is never one of
	// them (it is chosen per Open).
	Fields []schema.Field
	bind   func(opts map[string]any) (opener, error)
}

// opener opens one split of a dataset whose options are already decoded.
type opener func(root, split string) (*source.Slice, error)

var datasets = []Dataset{
	entry("mimic-cxr", []string{"train", "validate", "test"}, "MIMIC-CXR-JPG image-report pairs (AP/PA)", mimic.Fields(),
		func(r, s string, c mimic.Config) (*source.Slice, error) { c.Split = s; return mimic.Open(r, c) }),
	entry("chexpert", []string{"train", "valid"}, "CheXpert, five competition labels, usual uncertainty policy", chexpert.Fields(),
		func(r, s string, c chexpert.Config) (*source.Slice, error) { c.Split = s; return chexpert.Open(r, c) }),
	entry("rsna", []string{"train", "valid", "test", "all"}, "RSNA Pneumonia (DICOM): test hashed by patient, valid the held-out 10% of the training patients", rsna.Fields(),
		func(r, s string, c rsna.Config) (*source.Slice, error) { c.Split = s; return rsna.Open(r, c) }),
	entry("covidx", []string{"train", "test"}, "COVIDx, three classes (variant: binary for the positive/negative files)", covidx.Fields(),
		func(r, s string, c covidx.Config) (*source.Slice, error) { c.Split = s; return covidx.Open(r, c) }),
	entry("mura", []string{"train", "valid"}, "MURA v1.1, study labels on images", mura.Fields(),
		func(r, s string, c mura.Config) (*source.Slice, error) { c.Split = s; return mura.Open(r, c) }),
	entry("paired", []string{"", "train", "valid", "test"}, "generic image-report CSV (root/pairs.csv)", paired.Fields(),
		func(r, s string, c paired.Config) (*source.Slice, error) { c.Split = s; return paired.Open(r, c) }),
	entry("chexpert-8x200", []string{"image-candidate", "image-query", "text-candidate", "text-query"},
		"8x200 retrieval sets; root is the directory above CheXpert-v1.0-small", retrieval8x200.Fields(),
		func(r, s string, c retrieval8x200.Config) (*source.Slice, error) {
			c.Protocol, c.Set, _ = strings.Cut(s, "-")
			return retrieval8x200.Open(r, c)
		}),
}

// All lists the datasets, sorted by name.
func All() []Dataset {
	out := append([]Dataset(nil), datasets...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the dataset called name.
func Lookup(name string) (Dataset, error) {
	for _, d := range datasets {
		if d.Name == name {
			return d, nil
		}
	}
	var names []string
	for _, d := range All() {
		names = append(names, d.Name)
	}
	return Dataset{}, fmt.Errorf("unknown dataset %q (have %s)", name, strings.Join(names, ", "))
}

// Open opens a dataset split with default configuration; split "" means
// the dataset's first split.
func Open(name, root, split string) (source.Source, error) {
	return OpenOptions(name, root, split, nil)
}

// OpenOptions opens a dataset split with the reader options opts (keys of
// the dataset's Fields, as a recipe writes them; nil for the defaults);
// split "" means the dataset's first split.
func OpenOptions(name, root, split string, opts map[string]any) (source.Source, error) {
	d, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	open, err := d.bind(opts)
	if err != nil {
		return nil, err
	}
	if split == "" {
		split = d.Splits[0]
	}
	ok := false
	for _, s := range d.Splits {
		ok = ok || s == split
	}
	if !ok {
		return nil, fmt.Errorf("dataset %s: unknown split %q (have %s)", name, split, strings.Join(d.Splits, ", "))
	}
	return open(root, split)
}

// CheckOptions reports whether opts are valid reader options of d: known
// keys of the right types and allowed values, decodable into the reader's
// Config. It opens nothing.
func (d Dataset) CheckOptions(opts map[string]any) error {
	_, err := d.bind(opts)
	return err
}

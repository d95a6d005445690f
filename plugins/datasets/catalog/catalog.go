// Package catalog maps dataset names (as recipes and the CLI spell them) to
// their readers with default configuration.
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
)

// Dataset describes one reader.
type Dataset struct {
	Name   string
	Splits []string // the splits Open accepts; the first is the default
	Doc    string
	open   func(root, split string) (*source.Slice, error)
}

var datasets = []Dataset{
	{"mimic-cxr", []string{"train", "validate", "test"}, "MIMIC-CXR-JPG image-report pairs (AP/PA)",
		func(r, s string) (*source.Slice, error) { return mimic.Open(r, mimic.Config{Split: s}) }},
	{"chexpert", []string{"train", "valid"}, "CheXpert, five competition labels, usual uncertainty policy",
		func(r, s string) (*source.Slice, error) { return chexpert.Open(r, chexpert.Config{Split: s}) }},
	{"rsna", []string{"train", "valid", "test", "all"}, "RSNA Pneumonia (DICOM), hashed patient split",
		func(r, s string) (*source.Slice, error) { return rsna.Open(r, rsna.Config{Split: s}) }},
	{"covidx", []string{"train", "test"}, "COVIDx, label variant detected from the file",
		func(r, s string) (*source.Slice, error) { return covidx.Open(r, covidx.Config{Split: s}) }},
	{"mura", []string{"train", "valid"}, "MURA v1.1, study labels on images",
		func(r, s string) (*source.Slice, error) { return mura.Open(r, mura.Config{Split: s}) }},
	{"paired", []string{"", "train", "valid", "test"}, "generic image-report CSV (root/pairs.csv)",
		func(r, s string) (*source.Slice, error) { return paired.Open(r, paired.Config{Split: s}) }},
	{"chexpert-8x200", []string{"image-candidate", "image-query", "text-candidate", "text-query"},
		"8x200 retrieval sets; root is the directory above CheXpert-v1.0-small",
		func(r, s string) (*source.Slice, error) {
			proto, set, _ := strings.Cut(s, "-")
			return retrieval8x200.Open(r, retrieval8x200.Config{Protocol: proto, Set: set})
		}},
}

// All lists the datasets, sorted by name.
func All() []Dataset {
	out := append([]Dataset(nil), datasets...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Open opens a dataset split with default configuration; split "" means
// the dataset's first split.
func Open(name, root, split string) (source.Source, error) {
	for _, d := range datasets {
		if d.Name != name {
			continue
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
		return d.open(root, split)
	}
	var names []string
	for _, d := range All() {
		names = append(names, d.Name)
	}
	return nil, fmt.Errorf("unknown dataset %q (have %s)", name, strings.Join(names, ", "))
}

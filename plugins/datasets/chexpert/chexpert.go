// Package chexpert reads CheXpert-v1.0 (and -small): train.csv or valid.csv
// with the 14 observation columns, mapping uncertain (-1) labels by a
// per-label policy (ones, zeros or ignore) and blank labels to 0.
package chexpert

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Uncertainty policies.
const (
	Ones   = "ones"
	Zeros  = "zeros"
	Ignore = "ignore"
)

// Columns are CheXpert's 14 observations in file order.
var Columns = []string{"No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly",
	"Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis",
	"Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"}

// Competition are the five labels the paper reports (mean AUC).
var Competition = []string{"Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"}

// DefaultPolicy is the usual per-label choice: U-Ones for Atelectasis, Edema
// and Pleural Effusion, U-Zeros for everything else.
func DefaultPolicy() map[string]string {
	return map[string]string{"Atelectasis": Ones, "Edema": Ones, "Pleural Effusion": Ones}
}

// Config selects the split and label handling.
type Config struct {
	Split string `json:"split" schema:"-"` // "train" or "valid"
	// Labels to return, in order (default Competition).
	Labels []string `json:"labels" doc:"label columns returned, in order (default: the five competition labels)"`
	// Policy maps a label to ones|zeros|ignore for -1 values; labels not
	// listed use Default (default DefaultPolicy, then zeros).
	Policy  map[string]string `json:"policy"` // documented by PolicyDoc
	Default string            `json:"default_policy" doc:"uncertainty policy of the labels that policy does not list"`
	// FrontalOnly drops lateral views (rows whose Frontal/Lateral column
	// says Lateral), as the paper does; recipes/paper/table1.yaml sets it.
	// Off by default, so that the demo and existing recipes keep every image.
	FrontalOnly bool `json:"frontal_only" doc:"drop lateral views (Frontal/Lateral column = Lateral), the paper's setting (recipes/paper/table1.yaml sets it); needs the Frontal/Lateral column"`
	// CSV overrides the index file (e.g. a retrieval candidate list);
	// relative to root.
	CSV string `json:"csv" default:"-" doc:"index file relative to root, instead of {split}.csv (e.g. a candidate list)"`
	// ParentRoot, when set, resolves each path as written against this
	// directory (the one above the dataset folder) instead of replacing
	// the path's first element by root.
	ParentRoot string `json:"parent_root" default:"-" doc:"resolve the index's image paths as written against this directory (the one above the dataset folder) instead of replacing their first element by root"`
}

// Policies lists the uncertainty policies.
var Policies = []string{Ones, Zeros, Ignore}

// DefaultConfig is the config Open gives zero fields: the competition
// labels, DefaultPolicy, zeros for the rest.
func DefaultConfig() Config {
	return Config{Labels: Competition, Policy: DefaultPolicy(), Default: Zeros}
}

// configSchema is Config's schema (Split excepted: the dataset plugin sets
// it per request), derived from its tags with DefaultConfig's values; the
// allowed labels and policies are the Go lists.
var configSchema = schema.MustDerive(DefaultConfig(), schema.WithEnum("labels", Columns...),
	schema.WithEnum("policy", Policies...), schema.WithDoc("policy", PolicyDoc), schema.WithEnum("default_policy", Policies...))

// PolicyDoc documents the policy key of the readers with CheXpert labels.
const PolicyDoc = "uncertain (-1) label handling per label: ones, zeros or ignore (NaN, left out of the loss and metrics), e.g. {Edema: ones}"

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// CheckPolicy checks that every policy value (and def, when set) is ones,
// zeros or ignore, and that every label is a CheXpert column.
func CheckPolicy(policy map[string]string, def string) error {
	ok := func(p string) bool { return p == Ones || p == Zeros || p == Ignore }
	if def != "" && !ok(def) {
		return fmt.Errorf("chexpert: default_policy %q: want ones, zeros or ignore", def)
	}
	for l, p := range policy {
		if !ok(p) {
			return fmt.Errorf("chexpert: policy %q for %s: want ones, zeros or ignore", p, l)
		}
		if !slices.Contains(Columns, l) {
			return fmt.Errorf("chexpert: policy for %q: not a CheXpert label (have %s)", l, strings.Join(Columns, ", "))
		}
	}
	return nil
}

// Validate checks the policies (see CheckPolicy).
func (c Config) Validate() error { return CheckPolicy(c.Policy, c.Default) }

// Open reads root/{split}.csv. Image paths in the file start with the
// dataset folder name, which is replaced by root.
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	d := DefaultConfig()
	if len(c.Labels) == 0 {
		c.Labels = d.Labels
	}
	if c.Policy == nil {
		c.Policy = d.Policy
	}
	if c.Default == "" {
		c.Default = d.Default
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	csvPath := c.CSV
	if csvPath == "" {
		csvPath = c.Split + ".csv"
	}
	f, err := csvfile.Read(filepath.Join(root, csvPath), csvfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("chexpert: %w", err)
	}
	return FromFile(root, f, c)
}

// FromFile builds the source from a parsed CheXpert-format CSV.
func FromFile(root string, f *csvfile.File, c Config) (*source.Slice, error) {
	if c.Default == "" {
		c.Default = Zeros
	}
	cols, err := f.Cols(append([]string{"Path"}, c.Labels...)...)
	if err != nil {
		return nil, fmt.Errorf("chexpert: %w", err)
	}
	pathCol, labCols := cols[0], cols[1:]
	viewCol := -1
	if c.FrontalOnly {
		if viewCol, err = f.Col("Frontal/Lateral"); err != nil {
			return nil, fmt.Errorf("chexpert: frontal_only: %w", err)
		}
	}
	s := &source.Slice{Names: c.Labels, Kind: source.Multilabel, Issues: f.Problems}
	for _, r := range f.Rows {
		if viewCol >= 0 && strings.EqualFold(strings.TrimSpace(r.Fields[viewCol]), "Lateral") {
			continue
		}
		rel := r.Fields[pathCol]
		p, err := source.Resolve(root, source.StripFirst(rel))
		if c.ParentRoot != "" {
			p, err = source.Resolve(c.ParentRoot, rel)
		}
		if err != nil {
			s.Issues = append(s.Issues, f.Problem(r, "%v", err))
			continue
		}
		labels := make([]float32, len(labCols))
		ok := true
		for i, col := range labCols {
			v, err := Value(r.Fields[col], policy(c, c.Labels[i]))
			if err != nil {
				s.Issues = append(s.Issues, f.Problem(r, "column %q: %v", c.Labels[i], err))
				ok = false
				break
			}
			labels[i] = v
		}
		if !ok {
			continue
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			s.Issues = append(s.Issues, f.Problem(r, "image %s missing or empty", rel))
			continue
		}
		group := source.PatientInPath(rel) // patientNNNNN: all of a patient's studies and views
		if group == "" {
			group = strings.Join(strings.Split(rel, "/")[:min(3, strings.Count(rel, "/"))], "/")
		}
		s.Examples = append(s.Examples, source.Example{ID: rel, ImagePath: p, Labels: labels, Group: group})
	}
	return s, nil
}

func policy(c Config, label string) string {
	if p, ok := c.Policy[label]; ok {
		return p
	}
	return c.Default
}

// Value maps one CheXpert cell: "1.0"/"0.0" as is, "" to 0, "-1.0" by the
// policy.
func Value(cell, policy string) (float32, error) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(cell, 32)
	if err != nil {
		return 0, fmt.Errorf("label %q is not a number", cell)
	}
	switch v {
	case 1, 0:
		return float32(v), nil
	case -1:
		switch policy {
		case Ones:
			return 1, nil
		case Ignore:
			return source.NaN, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("label %q is not 1, 0, -1 or empty", cell)
}

// Package mimic reads MIMIC-CXR-JPG with the MIMIC-CXR reports as
// image-report pairs: each image of a kept view (AP and PA by default) with
// the Findings and Impression sentences of its study's report, the official
// split, and optionally the study's CheXpert labels.
package mimic

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/convirt/convirt/plugins/datasets/chexpert"
	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/radreport"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Config selects what to read.
type Config struct {
	Split string `json:"split" schema:"-"` // train, validate or test
	// Views kept by ViewPosition (default AP, PA); empty strings match
	// images without a view.
	Views []string `json:"views" doc:"ViewPosition values kept (AP, PA, LATERAL, LL, ...); \"\" keeps images without a view"`
	// SplitFile and MetadataFile override the gzipped CSVs (relative to root).
	SplitFile    string `json:"split_file" doc:"split CSV relative to root (gunzipped when its name ends in .gz)"`
	MetadataFile string `json:"metadata_file" doc:"metadata CSV with ViewPosition, relative to root (gunzipped when its name ends in .gz)"`
	// ReportRoot holds files/pXX/pN/sN.txt (default root).
	ReportRoot string `json:"report_root" default:"-" doc:"directory holding the reports files/pXX/pN/sN.txt (default: root)"`
	// Labels from LabelFile, if set (uncertain values per Policy, as in
	// chexpert.Config; labels it does not list use zeros).
	Labels []string          `json:"labels" doc:"CheXpert-labeller labels attached from mimic-cxr-2.0.0-chexpert.csv.gz (default: none)"`
	Policy map[string]string `json:"policy"` // documented by chexpert.PolicyDoc
}

// Defaults of Config.
const (
	DefaultSplitFile    = "mimic-cxr-2.0.0-split.csv.gz"
	DefaultMetadataFile = "mimic-cxr-2.0.0-metadata.csv.gz"
	// LabelFile holds the CheXpert-labeller labels per study.
	LabelFile = "mimic-cxr-2.0.0-chexpert.csv.gz"
)

// DefaultViews are the frontal views the paper pretrains on.
func DefaultViews() []string { return []string{"AP", "PA"} }

// DefaultConfig is the config Open gives zero fields: the AP and PA views,
// the dataset's CSVs, chexpert.DefaultPolicy.
func DefaultConfig() Config {
	return Config{Views: DefaultViews(), SplitFile: DefaultSplitFile, MetadataFile: DefaultMetadataFile, Policy: chexpert.DefaultPolicy()}
}

// configSchema is Config's schema (Split excepted), derived from its tags
// with DefaultConfig's values; labels and policies are chexpert's lists.
var configSchema = schema.MustDerive(DefaultConfig(),
	schema.WithEnum("labels", chexpert.Columns...), schema.WithEnum("policy", chexpert.Policies...),
	schema.WithDoc("policy", chexpert.PolicyDoc))

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// Validate checks the label policy (see chexpert.CheckPolicy).
func (c Config) Validate() error {
	if err := chexpert.CheckPolicy(c.Policy, ""); err != nil {
		return fmt.Errorf("mimic: %w", err)
	}
	return nil
}

// Open indexes root. Every report is read as Findings + Impression (see
// radreport.FindingsImpression).
func Open(root string, c Config) (*source.Slice, error) {
	if c.Split == "" {
		c.Split = "train"
	}
	if c.Views == nil {
		c.Views = DefaultViews()
	}
	if c.SplitFile == "" {
		c.SplitFile = DefaultSplitFile
	}
	if c.MetadataFile == "" {
		c.MetadataFile = DefaultMetadataFile
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.ReportRoot == "" {
		c.ReportRoot = root
	}
	s := &source.Slice{Kind: source.Paired, Names: c.Labels}
	meta, mc, err := csvfile.ReadCols(filepath.Join(root, c.MetadataFile), "dicom_id", "ViewPosition")
	if err != nil {
		return nil, fmt.Errorf("mimic: %w", err)
	}
	keep := map[string]bool{}
	for _, r := range meta.Rows {
		for _, v := range c.Views {
			if r.Fields[mc[1]] == v {
				keep[r.Fields[mc[0]]] = true
			}
		}
	}
	labels := map[string][]float32{}
	if len(c.Labels) > 0 {
		if labels, err = readLabels(root, c, s); err != nil {
			return nil, err
		}
	}
	sp, cols, err := csvfile.ReadCols(filepath.Join(root, c.SplitFile), "dicom_id", "study_id", "subject_id", "split")
	if err != nil {
		return nil, fmt.Errorf("mimic: %w", err)
	}
	s.Issues = append(append(s.Issues, meta.Problems...), sp.Problems...)
	for _, r := range sp.Rows {
		dicomID, study, subject := r.Fields[cols[0]], r.Fields[cols[1]], r.Fields[cols[2]]
		if r.Fields[cols[3]] != c.Split || !keep[dicomID] {
			continue
		}
		if _, err := strconv.Atoi(subject); err != nil || len(subject) < 2 {
			s.Issues = append(s.Issues, sp.Problem(r, "bad subject_id %q", subject))
			continue
		}
		dir := filepath.Join("files", "p"+subject[:2], "p"+subject)
		img, err := source.Resolve(root, filepath.ToSlash(filepath.Join(dir, "s"+study, dicomID+".jpg")))
		if err != nil {
			s.Issues = append(s.Issues, sp.Problem(r, "%v", err))
			continue
		}
		rep, _ := source.Resolve(c.ReportRoot, filepath.ToSlash(filepath.Join(dir, "s"+study+".txt")))
		ex := source.Example{ID: dicomID, ImagePath: img, Report: rep, Group: subject}
		if len(c.Labels) > 0 {
			l, ok := labels[study]
			if !ok {
				l = make([]float32, len(c.Labels))
				for i := range l {
					l[i] = source.NaN
				}
			}
			ex.Labels = l
		}
		s.Examples = append(s.Examples, ex)
	}
	s.Check = checkReport
	return s, nil
}

// checkReport reads the report file (Example.Report holds its path at
// index time) and fills Report and Texts; bad reports make bad samples.
func checkReport(ex source.Example) (source.Example, error) {
	b, err := os.ReadFile(ex.Report)
	if err != nil {
		return ex, fmt.Errorf("report of %s: %w", ex.ID, err)
	}
	if !utf8.Valid(b) {
		return ex, fmt.Errorf("%s: %w", ex.Report, radreport.ErrNotUTF8)
	}
	text, err := radreport.FindingsImpression(string(b))
	if err != nil {
		return ex, fmt.Errorf("%s: %w", ex.Report, err)
	}
	ex.Texts = radreport.Sentences(text)
	if len(ex.Texts) == 0 {
		return ex, fmt.Errorf("%s: %w", ex.Report, radreport.ErrEmpty)
	}
	ex.Report = text
	return ex, nil
}

func readLabels(root string, c Config, s *source.Slice) (map[string][]float32, error) {
	f, cols, err := csvfile.ReadCols(filepath.Join(root, LabelFile), append([]string{"study_id"}, c.Labels...)...)
	if err != nil {
		return nil, fmt.Errorf("mimic: %w", err)
	}
	study, cols := cols[0], cols[1:]
	pol := c.Policy
	if pol == nil {
		pol = chexpert.DefaultPolicy()
	}
	out := map[string][]float32{}
	s.Issues = append(s.Issues, f.Problems...)
	for _, r := range f.Rows {
		l := make([]float32, len(cols))
		for i, col := range cols {
			p := pol[c.Labels[i]]
			if p == "" {
				p = chexpert.Zeros
			}
			if l[i], err = chexpert.Value(r.Fields[col], p); err != nil {
				s.Issues = append(s.Issues, f.Problem(r, "%s: %v", c.Labels[i], err))
			}
		}
		out[r.Fields[study]] = l
	}
	return out, nil
}

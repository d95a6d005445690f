// Package paired reads a generic image-report CSV, for any institution's
// data: one row per study with one or more image paths (separated by ';'),
// the report text or the path of a report file, and an optional split.
package paired

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/radreport"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Config names the CSV and its columns.
type Config struct {
	CSV         string `json:"csv" doc:"the index CSV, relative to root"`                                                   // default pairs.csv
	ImageColumn string `json:"image_column" doc:"column of image paths relative to root; several per row separated by ';'"` // default "image"
	// ReportColumn holds report text; ReportFileColumn a path to a text
	// file relative to root. One of them must exist (text wins).
	ReportColumn     string `json:"report_column" doc:"column of report text (wins over report_file_column when non-empty)"`   // default "report"
	ReportFileColumn string `json:"report_file_column" doc:"column of report file paths relative to root"`                     // default "report_file"
	SplitColumn      string `json:"split_column" doc:"column naming each row's split; without it every row is in every split"` // default "split"
	Split            string `json:"split" schema:"-"`                                                                          // kept split; empty keeps all
	// WholeReport uses the whole text when it has no Findings/Impression
	// sections (default: the report parser's fallback, its last paragraph).
	WholeReport bool `json:"whole_report" doc:"use the whole text of reports without Findings/Impression sections (default: their last paragraph)"`
}

// Defaults returns the Config that Open's defaults make of the zero Config.
func Defaults() Config {
	return Config{CSV: "pairs.csv", ImageColumn: "image", ReportColumn: "report",
		ReportFileColumn: "report_file", SplitColumn: "split"}
}

// configSchema is Config's schema (Split excepted), derived from its tags
// with Defaults' values.
var configSchema = schema.MustDerive(Defaults())

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// Open reads the CSV.
func Open(root string, c Config) (*source.Slice, error) {
	d := Defaults()
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.CSV, d.CSV)
	def(&c.ImageColumn, d.ImageColumn)
	def(&c.ReportColumn, d.ReportColumn)
	def(&c.ReportFileColumn, d.ReportFileColumn)
	def(&c.SplitColumn, d.SplitColumn)
	f, err := csvfile.Read(filepath.Join(root, c.CSV), csvfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("paired: %w", err)
	}
	img, err := f.Col(c.ImageColumn)
	if err != nil {
		return nil, fmt.Errorf("paired: %w", err)
	}
	text, errT := f.Col(c.ReportColumn)
	file, errF := f.Col(c.ReportFileColumn)
	if errT != nil && errF != nil {
		return nil, fmt.Errorf("paired: %s:1: need a %q or %q column", f.Path, c.ReportColumn, c.ReportFileColumn)
	}
	split, errS := f.Col(c.SplitColumn)
	s := &source.Slice{Kind: source.Paired, Issues: f.Problems}
	for _, r := range f.Rows {
		if c.Split != "" && errS == nil && r.Fields[split] != c.Split {
			continue
		}
		var body string
		if errT == nil && strings.TrimSpace(r.Fields[text]) != "" {
			body = r.Fields[text]
		} else if errF == nil {
			p, err := source.Resolve(root, r.Fields[file])
			if err != nil {
				s.Issues = append(s.Issues, f.Problem(r, "report file: %v", err))
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				s.Issues = append(s.Issues, f.Problem(r, "report file: %v", err))
				continue
			}
			body = string(b)
		}
		sents, rep, err := sentences(body, c.WholeReport)
		if err != nil {
			s.Issues = append(s.Issues, f.Problem(r, "report: %v", err))
			continue
		}
		for i, rel := range strings.Split(r.Fields[img], ";") {
			p, err := source.Resolve(root, strings.TrimSpace(rel))
			if err != nil {
				s.Issues = append(s.Issues, f.Problem(r, "image %d: %v", i+1, err))
				continue
			}
			s.Examples = append(s.Examples, source.Example{ID: fmt.Sprintf("%d:%d", r.Line, i),
				ImagePath: p, Texts: sents, Report: rep, Group: fmt.Sprint(r.Line)})
		}
	}
	return s, nil
}

func sentences(body string, whole bool) ([]string, string, error) {
	if !utf8.ValidString(body) {
		return nil, "", radreport.ErrNotUTF8
	}
	text, err := radreport.FindingsImpression(body)
	if whole && len(radreport.Parse(body).Sections) == 0 {
		text, err = strings.Join(strings.Fields(body), " "), nil
	}
	if err != nil {
		return nil, "", err
	}
	ss := radreport.Sentences(text)
	if len(ss) == 0 {
		return nil, "", radreport.ErrEmpty
	}
	return ss, text, nil
}

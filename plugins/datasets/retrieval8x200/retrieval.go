// Package retrieval8x200 reads the CheXpert 8x200 retrieval sets of the
// ConVIRT authors (image-retrieval/ and text-retrieval/, each with
// candidate.csv and query.csv), resolving image paths against the directory
// that holds the CheXpert download. Categories are taken from the query
// file, so the synthetic 6-category set reads the same way.
//
// The authors' own query and candidate files (public, from the paper's
// release) ship inside this package (authors/) and are selected with
// dir: authors; the images themselves come from a CheXpert download.
package retrieval8x200

import (
	"embed"
	"fmt"
	"path"
	"path/filepath"

	"github.com/convirt/convirt/plugins/datasets/chexpert"
	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Authors is the value of Config.Dir that selects the authors' 8x200 files
// shipped with convirt.
const Authors = "authors"

// authorsFS holds the ConVIRT authors' retrieval sets: image-retrieval/ and
// text-retrieval/, each with candidate.csv and query.csv (see
// authors/README.md).
//
//go:embed authors
var authorsFS embed.FS

// Config selects the protocol and the file.
type Config struct {
	// Dir holds image-retrieval/ and text-retrieval/ (default
	// root/convirt-retrieval); "authors" selects the authors' files
	// shipped with convirt.
	Dir string `json:"dir" default:"-" doc:"folder holding image-retrieval/ and text-retrieval/ (default: root/convirt-retrieval); \"authors\": the ConVIRT authors' 8x200 files shipped with convirt"`
	// Protocol is "image" (image queries) or "text" (text queries).
	Protocol string `json:"protocol" schema:"-"`
	// Set is "candidate" or "query".
	Set string `json:"set" schema:"-"`
}

// configSchema is Config's schema (Protocol and Set excepted: the catalogue
// sets them from the split's name), derived from its tags.
var configSchema = schema.MustDerive(Config{})

// Fields describes Config as plugin config keys (configSchema).
func Fields() []schema.Field { return append([]schema.Field(nil), configSchema.Fields...) }

// Open reads one file. Candidates carry a label per category (1 when the
// CheXpert label is 1, else 0); queries carry a one-hot category and either
// an image path or a text.
func Open(root string, c Config) (*source.Slice, error) {
	if c.Dir == "" {
		c.Dir = filepath.Join(root, "convirt-retrieval")
	}
	if c.Protocol != "image" && c.Protocol != "text" {
		return nil, fmt.Errorf("retrieval8x200: protocol %q: want image or text", c.Protocol)
	}
	read := func(name string) (*csvfile.File, error) {
		if c.Dir == Authors {
			return readAuthors(c.Protocol+"-retrieval", name)
		}
		return csvfile.Read(filepath.Join(c.Dir, c.Protocol+"-retrieval", name), csvfile.Options{})
	}
	q, err := read("query.csv")
	if err != nil {
		return nil, fmt.Errorf("retrieval8x200: %w", err)
	}
	vc, err := q.Col("Variable")
	if err != nil {
		return nil, fmt.Errorf("retrieval8x200: %w", err)
	}
	var cats []string
	index := map[string]int{}
	for _, r := range q.Rows {
		if _, ok := index[r.Fields[vc]]; !ok {
			index[r.Fields[vc]] = len(cats)
			cats = append(cats, r.Fields[vc])
		}
	}
	switch c.Set {
	case "candidate":
		f, err := read("candidate.csv")
		if err != nil {
			return nil, fmt.Errorf("retrieval8x200: %w", err)
		}
		// Only 1.0 counts as a positive: uncertain and blank are 0.
		s, err := chexpert.FromFile(root, f, chexpert.Config{Labels: cats, Policy: map[string]string{},
			Default: chexpert.Zeros, ParentRoot: root})
		if err != nil {
			return nil, fmt.Errorf("retrieval8x200: %w", err)
		}
		s.Kind = source.Multilabel
		return s, nil
	case "query":
	default:
		return nil, fmt.Errorf("retrieval8x200: set %q: want candidate or query", c.Set)
	}
	s := &source.Slice{Names: cats, Kind: source.Multiclass, Issues: q.Problems}
	col := "Path"
	if c.Protocol == "text" {
		col = "Text"
	}
	xc, err := q.Col(col)
	if err != nil {
		return nil, fmt.Errorf("retrieval8x200: %w", err)
	}
	for _, r := range q.Rows {
		lab := make([]float32, len(cats))
		lab[index[r.Fields[vc]]] = 1
		ex := source.Example{ID: fmt.Sprintf("%s:%d", q.Path, r.Line), Labels: lab}
		if c.Protocol == "text" {
			ex.Texts, ex.Report = []string{r.Fields[xc]}, r.Fields[xc]
		} else {
			p, err := source.Resolve(root, r.Fields[xc])
			if err != nil {
				s.Issues = append(s.Issues, q.Problem(r, "%v", err))
				continue
			}
			ex.ImagePath, ex.ID = p, r.Fields[xc]
		}
		s.Examples = append(s.Examples, ex)
	}
	return s, nil
}

// readAuthors parses one of the shipped authors' files; errors name it as
// authors/<dir>/<name>.
func readAuthors(dir, name string) (*csvfile.File, error) {
	p := path.Join(Authors, dir, name)
	f, err := authorsFS.Open(p)
	if err != nil {
		return nil, fmt.Errorf("shipped retrieval set: %w", err)
	}
	defer f.Close()
	return csvfile.Parse(f, "(shipped) "+p, csvfile.Options{})
}

// Package csvfile reads the index files of the datasets: CSV (optionally
// gzipped), with or without a header, keeping the line number of every row so
// that every error names file:line. Rows with the wrong number of fields are
// kept out and reported as problems rather than failing the whole file.
package csvfile

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/convirt/convirt/plugins/datasets/source"
)

// Row is one record and the line it starts on.
type Row struct {
	Line   int
	Fields []string
}

// File is a parsed CSV file.
type File struct {
	Path     string
	Header   []string
	Rows     []Row
	Problems []source.Problem
	index    map[string]int
}

// Options say how to parse.
type Options struct {
	// NoHeader: the first row is data; Header stays nil.
	NoHeader bool
	// Fields is the expected number of fields when NoHeader is set (0: any).
	Fields int
	// Comma is the separator (default ',').
	Comma rune
}

// Read opens path (gunzipping it when the name ends in .gz) and parses it.
func Read(path string, opt Options) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	return Parse(r, path, opt)
}

// ReadCols reads path with a header as Read does and finds the named
// columns in it (Cols): the index files whose columns a reader looks up by
// name.
func ReadCols(path string, names ...string) (*File, []int, error) {
	f, err := Read(path, Options{})
	if err != nil {
		return nil, nil, err
	}
	cols, err := f.Cols(names...)
	if err != nil {
		return nil, nil, err
	}
	return f, cols, nil
}

// Parse parses CSV text from r; name is used in errors.
func Parse(r io.Reader, name string, opt Options) (*File, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	out := &File{Path: name}
	want := opt.Fields
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w", name, pe.StartLine, pe.Err)
			}
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		bad := false
		for _, v := range rec {
			if !utf8.ValidString(v) {
				out.Problems = append(out.Problems, source.Problem{Path: name, Line: line, Msg: "invalid UTF-8"})
				bad = true
				break
			}
		}
		if bad {
			continue
		}
		if out.Header == nil && !opt.NoHeader {
			if len(rec) > 0 {
				rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			}
			out.Header = rec
			out.index = make(map[string]int, len(rec))
			for i, h := range rec {
				out.index[strings.TrimSpace(h)] = i
			}
			want = len(rec)
			continue
		}
		if want > 0 && len(rec) != want {
			out.Problems = append(out.Problems, source.Problem{Path: name, Line: line,
				Msg: fmt.Sprintf("row has %d fields, want %d (truncated or malformed)", len(rec), want)})
			continue
		}
		out.Rows = append(out.Rows, Row{Line: line, Fields: rec})
	}
	if out.Header == nil && !opt.NoHeader {
		return nil, fmt.Errorf("%s: empty file, no header", name)
	}
	return out, nil
}

// Col returns the index of the named header column.
func (f *File) Col(name string) (int, error) {
	i, ok := f.index[name]
	if !ok {
		return 0, fmt.Errorf("%s:1: no column %q in header %v", f.Path, name, f.Header)
	}
	return i, nil
}

// Cols returns the indexes of several columns, failing on the first missing.
func (f *File) Cols(names ...string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		c, err := f.Col(n)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// Problem makes a Problem located at row r of f.
func (f *File) Problem(r Row, format string, args ...any) source.Problem {
	return source.Problem{Path: f.Path, Line: r.Line, Msg: fmt.Sprintf(format, args...)}
}

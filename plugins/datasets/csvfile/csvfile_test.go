package csvfile

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseHeaderAndProblems(t *testing.T) {
	in := "a,b,c\n1,2,3\n4,5\n\n6,7,8\n9,10,1"
	f, err := Parse(strings.NewReader(in), "x.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 3 || f.Rows[1].Line != 5 {
		t.Fatalf("rows %+v", f.Rows)
	}
	if len(f.Problems) != 1 || f.Problems[0].Line != 3 || !strings.Contains(f.Problems[0].Error(), "x.csv:3:") {
		t.Fatalf("problems %+v", f.Problems)
	}
	if c, err := f.Col("c"); err != nil || c != 2 {
		t.Fatal(c, err)
	}
	if _, err := f.Col("zz"); err == nil || !strings.Contains(err.Error(), "x.csv:1") {
		t.Fatal(err)
	}
}

func TestParseSyntaxErrorNamesLine(t *testing.T) {
	_, err := Parse(strings.NewReader("a,b\n1,2\n\"x,3\n"), "y.csv", Options{})
	if err == nil || !strings.Contains(err.Error(), "y.csv:3") {
		t.Fatalf("got %v", err)
	}
}

func TestReadGzipTruncated(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("a,b\n" + strings.Repeat("1,2\n", 1000)))
	zw.Close()
	dir := t.TempDir()
	p := filepath.Join(dir, "t.csv.gz")
	os.WriteFile(p, buf.Bytes(), 0o644)
	f, err := Read(p, Options{})
	if err != nil || len(f.Rows) != 1000 {
		t.Fatal(err)
	}
	os.WriteFile(p, buf.Bytes()[:buf.Len()/2], 0o644)
	if _, err := Read(p, Options{}); err == nil || !strings.Contains(err.Error(), "t.csv.gz:") {
		t.Fatalf("truncated gzip: %v", err)
	}
}

func TestNoHeaderInvalidUTF8(t *testing.T) {
	f, err := Parse(strings.NewReader("p q r s\nbad \xff x y\n"), "z.txt", Options{NoHeader: true, Comma: ' ', Fields: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 1 || len(f.Problems) != 1 || f.Problems[0].Line != 2 {
		t.Fatalf("%+v %+v", f.Rows, f.Problems)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\n\"1\n", "\ufeffa\n\xff\n", "x y z\n1 2 3\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, opt := range []Options{{}, {NoHeader: true, Comma: ' '}} {
			file, err := Parse(strings.NewReader(s), "f.csv", opt)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f.csv") {
					t.Fatalf("error without file name: %v", err)
				}
				continue
			}
			for _, r := range file.Rows {
				if r.Line < 1 {
					t.Fatalf("row without line: %+v", r)
				}
			}
		}
	})
}

// TestReadColsFindsColumnsInOrder reads an index file by a relative path and
// returns the named columns' indexes in the order asked; a missing column is
// an error naming the file and its header line.
func TestReadColsFindsColumnsInOrder(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("index.csv", []byte("id,path,label\nx,a.png,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, cols, err := ReadCols("index.csv", "label", "id")
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 2 || cols[0] != 2 || cols[1] != 0 || len(f.Rows) != 1 || f.Rows[0].Fields[cols[0]] != "1" {
		t.Fatalf("ReadCols = %v, rows %+v", cols, f.Rows)
	}
	want := `index.csv:1: no column "view" in header [id path label]`
	if _, _, err := ReadCols("index.csv", "id", "view"); err == nil || err.Error() != want {
		t.Fatalf("ReadCols(view) = %v, want %s", err, want)
	}
	if _, _, err := ReadCols("missing.csv", "id"); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Fatalf("ReadCols(missing.csv) = %v, want an error naming the file", err)
	}
}

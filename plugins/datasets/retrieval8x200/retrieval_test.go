package retrieval8x200

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/source"
)

// TestAuthorsShipped reads the authors' 8x200 sets that ship with convirt:
// eight categories, 200 candidates each in CheXpert's layout, image queries
// resolved under root, text queries as text. The images are not shipped:
// the test lays a placeholder file at every path the sets name.
func TestAuthorsShipped(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"image-retrieval/candidate.csv", "image-retrieval/query.csv"} {
		f, err := readAuthors(path.Dir(name), path.Base(name))
		if err != nil {
			t.Fatal(err)
		}
		pc, err := f.Col("Path")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Rows {
			p := filepath.Join(root, filepath.FromSlash(r.Fields[pc]))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cand, err := Open(root, Config{Dir: Authors, Protocol: "image", Set: "candidate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cand.Names) != 8 {
		t.Fatalf("categories %v, want the paper's 8", cand.Names)
	}
	if len(cand.Examples) != 1600 {
		t.Errorf("%d candidates, want 1600", len(cand.Examples))
	}
	pos := make([]int, len(cand.Names))
	for _, ex := range cand.Examples {
		for c, v := range ex.Labels {
			if v == 1 {
				pos[c]++
			}
		}
		if !strings.HasPrefix(ex.ImagePath, filepath.Join(root, "CheXpert-v1.0-small")) {
			t.Fatalf("candidate %s resolved to %s, outside root's CheXpert", ex.ID, ex.ImagePath)
		}
	}
	for c, n := range pos {
		if n < 200 {
			t.Errorf("category %s has %d positive candidates, want >= 200", cand.Names[c], n)
		}
	}
	q, err := Open(root, Config{Dir: Authors, Protocol: "image", Set: "query"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Examples) == 0 || q.Kind != source.Multiclass {
		t.Fatalf("image queries: %d, kind %v", len(q.Examples), q.Kind)
	}
	tq, err := Open(root, Config{Dir: Authors, Protocol: "text", Set: "query"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range tq.Examples {
		if ex.Report == "" || ex.ImagePath != "" {
			t.Fatalf("text query %+v: want text only", ex)
		}
	}
	if len(tq.Names) != 8 {
		t.Errorf("text query categories %v, want 8", tq.Names)
	}
}

// TestDirDefault reads root/convirt-retrieval unless dir says otherwise, and
// names the missing file when it is absent.
func TestDirDefault(t *testing.T) {
	root := t.TempDir()
	_, err := Open(root, Config{Protocol: "text", Set: "query"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "convirt-retrieval", "text-retrieval", "query.csv")) {
		t.Fatalf("missing default dir: %v", err)
	}
	dir := filepath.Join(root, "convirt-retrieval", "text-retrieval")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "query.csv"), []byte("Variable,Text\nA,one\nB,two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(root, Config{Protocol: "text", Set: "query"})
	if err != nil || len(s.Names) != 2 {
		t.Fatalf("names %v, err %v", s.Names, err)
	}
}

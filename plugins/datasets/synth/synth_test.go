package synth

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// tree hashes every file under dir.
func tree(t *testing.T, dir string) map[string][32]byte {
	out := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = sha256.Sum256(b)
		}
		return nil
	})
	return out
}

func TestWriteDeterministic(t *testing.T) {
	c := Config{Studies: 60, Seed: 7, Size: 32, UncertainP: 0.25}
	a, b := t.TempDir(), t.TempDir()
	if err := Write(context.Background(), a, c); err != nil {
		t.Fatal(err)
	}
	c.Workers = 1
	if err := Write(context.Background(), b, c); err != nil {
		t.Fatal(err)
	}
	ta, tb := tree(t, a), tree(t, b)
	if len(ta) < 200 || len(ta) != len(tb) {
		t.Fatalf("%d vs %d files", len(ta), len(tb))
	}
	for k, v := range ta {
		if tb[k] != v {
			t.Fatalf("%s differs between runs", k)
		}
	}
	for _, p := range []string{"MIMIC-CXR/mimic-cxr-2.0.0-split.csv.gz", "CheXpert-v1.0-small/train.csv",
		"RSNA/stage_2_train_labels.csv", "COVIDx/train.txt", "MURA-v1.1/train_labeled_studies.csv",
		"convirt-retrieval/text-retrieval/query.csv", "vocab.txt"} {
		if _, ok := ta[filepath.FromSlash(p)]; !ok {
			t.Errorf("missing %s", p)
		}
	}
}

func TestReportsNameFindings(t *testing.T) {
	for i := range 200 {
		rng := rngFor(1, 99, i)
		f := Sample(rng, 0.3)
		txt := Describe(rng, f)
		if len(txt.Findings) == 0 || len(txt.Impression) == 0 {
			t.Fatal("empty report")
		}
		lab := f.Labels(txt.Negated)
		for _, n := range FindingNames {
			if f.Has(n) != (lab[n] == "1.0" || lab[n] == "-1.0") {
				t.Fatalf("%s: present %v, label %q", n, f.Has(n), lab[n])
			}
		}
	}
}

func BenchmarkDemoCorpus(b *testing.B) {
	for range b.N {
		if err := Write(context.Background(), b.TempDir(), DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

package synth_test

import (
	"context"
	"encoding/csv"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/convirt/convirt/plugins/encoders/text"
	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk"
)

// corpusTexts reads back from dir every text the corpus holds: the MIMIC
// reports, the retrieval text queries, and the label and class names of the
// CheXpert, RSNA and COVIDx label files.
func corpusTexts(t *testing.T, dir string) (reports, queries, labels []string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "MIMIC-CXR", "files"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".txt" {
			return err
		}
		b, err := os.ReadFile(p)
		reports = append(reports, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	csvCol := func(rel string, col int) []string {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		var out []string
		for _, r := range rows[1:] {
			out = append(out, r[col])
		}
		return out
	}
	queries = csvCol("convirt-retrieval/text-retrieval/query.csv", 1)
	labels = append(labels, synth.CheXpertHeader[5:]...)
	labels = append(labels, csvCol("RSNA/stage_2_detailed_class_info.csv", 1)...)
	for _, split := range []string{"train", "test"} {
		b, err := os.ReadFile(filepath.Join(dir, "COVIDx", split+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			labels = append(labels, strings.Fields(line)[2])
		}
	}
	if len(reports) != 60 || len(queries) != 30 {
		t.Fatalf("read %d reports and %d queries, want 60 and 30", len(reports), len(queries))
	}
	return reports, queries, labels
}

func TestVocab(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(context.Background(), dir, synth.Config{Studies: 60, Seed: 3, Size: 16, UncertainP: 0.25}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, synth.VocabFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	reports, queries, labels := corpusTexts(t, dir)

	t.Run("layout", func(t *testing.T) {
		if !reflect.DeepEqual(lines[:5], []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
			t.Errorf("specials %q", lines[:5])
		}
		// Exactly the vocabulary of the texts on disk, whatever order they
		// were written in: no text source is missed or invented.
		all := append(append(append([]string(nil), reports...), queries...), labels...)
		if want := wordpiece.BuildVocab(all, synth.VocabOptions); !reflect.DeepEqual(lines, want) {
			t.Errorf("vocab.txt (%d lines) is not the vocabulary of the corpus texts (%d)", len(lines), len(want))
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if seen[l] {
				t.Errorf("duplicate token %q", l)
			}
			seen[l] = true
		}
		for _, w := range []string{"pneumothorax", "effusion", "cardiomegaly", "impression", "_", "##z", "##9"} {
			if !seen[w] {
				t.Errorf("%q missing", w)
			}
		}
	})

	t.Run("no unknown tokens", func(t *testing.T) {
		tk, err := wordpiece.Load(path, synth.VocabOptions)
		if err != nil {
			t.Fatal(err)
		}
		for _, txt := range append(append(reports, queries...), labels...) {
			for _, tok := range tk.Tokenize(txt) {
				// Corpus words are whole tokens: neither [UNK] nor pieces.
				if tok == wordpiece.UNK || strings.HasPrefix(tok, "##") {
					t.Fatalf("%q in the tokens of %q", tok, txt)
				}
			}
		}
		// An unseen word made of corpus characters still avoids [UNK].
		if toks := tk.Tokenize("Cardiothoracic"); len(toks) < 2 || strings.Contains(strings.Join(toks, " "), wordpiece.UNK) {
			t.Errorf("unseen word: %q", toks)
		}
	})

	t.Run("text encoder", func(t *testing.T) {
		p := text.New()
		defer p.Close()
		cfg := map[string]any{"vocab": path, "size": "tiny", "layers": 1, "hidden": 16, "heads": 2,
			"freeze_layers": 0, "max_len": 32, "proj_dim": 4, "seed": 1}
		if err := p.Configure(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		batch := &sdk.Batch{IDs: []string{"a", "b", "c"}, Texts: []string{reports[0], reports[1], queries[0]}}
		y, err := p.Forward(context.Background(), sdk.ForwardRequest{Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		v, err := y.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(y.Shape, []int64{3, 4}) {
			t.Fatalf("shape %v, want [3 4]", y.Shape)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("non-finite output %v", v)
			}
		}
	})
}

func TestVocabWriteError(t *testing.T) {
	dir := t.TempDir()
	// A directory where vocab.txt should go makes the final rename fail.
	if err := os.MkdirAll(filepath.Join(dir, synth.VocabFile, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := synth.Write(context.Background(), dir, synth.Config{Studies: 10, Seed: 1, Size: 16})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, synth.VocabFile)) {
		t.Fatalf("got %v, want an error naming %s", err, filepath.Join(dir, synth.VocabFile))
	}
}

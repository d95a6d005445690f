package catalog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/datasets/synth"
)

var corpus string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "convirt-synth")
	if err != nil {
		panic(err)
	}
	c := synth.DefaultConfig()
	c.Studies, c.Size = 120, 32
	if err := synth.Write(context.Background(), dir, c); err != nil {
		panic(err)
	}
	corpus = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestEveryDatasetOpensAndLoads(t *testing.T) {
	cases := []struct{ name, root, split string }{
		{"mimic-cxr", "MIMIC-CXR", "train"},
		{"chexpert", "CheXpert-v1.0-small", "train"},
		{"chexpert", "CheXpert-v1.0-small", "valid"},
		{"rsna", "RSNA", "all"},
		{"covidx", "COVIDx", "train"},
		{"covidx", "COVIDx", "test"},
		{"mura", "MURA-v1.1", "train"},
		{"chexpert-8x200", ".", "image-candidate"},
		{"chexpert-8x200", ".", "image-query"},
		{"chexpert-8x200", ".", "text-query"},
	}
	for _, c := range cases {
		src, err := Open(c.name, filepath.Join(corpus, c.root), c.split)
		if err != nil {
			t.Fatalf("%s/%s: %v", c.name, c.split, err)
		}
		if src.Len() < 5 || len(src.Problems()) > 0 {
			t.Fatalf("%s/%s: %d examples, problems %v", c.name, c.split, src.Len(), src.Problems())
		}
		pos := make([]int, len(src.LabelNames()))
		idx := []int{}
		for i := range src.Len() {
			ex, err := src.Example(i)
			if err != nil {
				t.Fatalf("%s: example %d: %v", c.name, i, err)
			}
			for j, v := range ex.Labels {
				if v == 1 {
					pos[j]++
				}
			}
			if ex.ImagePath != "" && len(idx) < 8 {
				idx = append(idx, i)
			}
			if src.Task() == source.Paired && len(ex.Texts) == 0 {
				t.Fatalf("%s: example %d has no sentences", c.name, i)
			}
		}
		for j, p := range pos {
			name := src.LabelNames()[j]
			// The synthetic corpus has columns, but no cases, of these two.
			if p == 0 && src.Len() > 50 && name != "Atelectasis" && name != "Edema" {
				t.Errorf("%s/%s: no positive for %s", c.name, c.split, src.LabelNames()[j])
			}
		}
		if len(idx) > 0 {
			b, err := loader.LoadBatch(context.Background(), src, idx, loader.Options{Size: 24}, 2)
			if err != nil || len(b.Bad) > 0 {
				t.Fatalf("%s: load: %v %v", c.name, err, b.Bad)
			}
		}
	}
}

func TestMIMICPairsMentionFindings(t *testing.T) {
	src, err := Open("mimic-cxr", filepath.Join(corpus, "MIMIC-CXR"), "train")
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := src.Example(0)
	if !strings.Contains(ex.ImagePath, filepath.FromSlash("files/p1")) || ex.Report == "" {
		t.Fatalf("%+v", ex)
	}
}

func TestUnknown(t *testing.T) {
	if _, err := Open("nope", corpus, ""); err == nil {
		t.Fatal("unknown dataset accepted")
	}
	if _, err := Open("mura", corpus, "bogus"); err == nil {
		t.Fatal("unknown split accepted")
	}
}

// TestGroupsArePatients: every reader with patient ids groups its images by
// patient (source.Example.Group, what subset.Holdout keeps whole):
// CheXpert's and MURA's patientNNNNN, RSNA's patientId, COVIDx's patient_id
// column, MIMIC-CXR's subject_id (the folder pNNNNNNNN of the image).
func TestGroupsArePatients(t *testing.T) {
	cases := []struct {
		name, root, split string
		want              func(ex source.Example) string
	}{
		{"chexpert", "CheXpert-v1.0-small", "train", func(ex source.Example) string { return patientIn(ex.ID) }},
		{"mura", "MURA-v1.1", "train", func(ex source.Example) string { return patientIn(ex.ID) }},
		{"rsna", "RSNA", "all", func(ex source.Example) string { return ex.ID }},
		{"mimic-cxr", "MIMIC-CXR", "train", func(ex source.Example) string {
			return strings.TrimPrefix(filepath.Base(filepath.Dir(filepath.Dir(ex.ImagePath))), "p")
		}},
	}
	for _, c := range cases {
		src, err := Open(c.name, filepath.Join(corpus, c.root), c.split)
		if err != nil {
			t.Fatal(err)
		}
		for i := range src.Len() {
			ex, _ := src.Example(i)
			if want := c.want(ex); ex.Group != want || want == "" {
				t.Fatalf("%s: %s: group %q, want the patient %q", c.name, ex.ID, ex.Group, want)
			}
		}
	}
	// COVIDx: the first field of the row; the synthetic files give two
	// images to each patient.
	txt, err := os.ReadFile(filepath.Join(corpus, "COVIDx", "train.txt"))
	if err != nil {
		t.Fatal(err)
	}
	patient := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(txt)), "\n") {
		f := strings.Fields(line)
		patient[f[1]] = f[0]
	}
	src, err := Open("covidx", filepath.Join(corpus, "COVIDx"), "train")
	if err != nil {
		t.Fatal(err)
	}
	for i := range src.Len() {
		if ex, _ := src.Example(i); ex.Group != patient[ex.ID] || ex.Group == "" {
			t.Fatalf("covidx: %s: group %q, want %q", ex.ID, ex.Group, patient[ex.ID])
		}
	}
}

func patientIn(rel string) string {
	for _, e := range strings.Split(rel, "/") {
		if strings.HasPrefix(e, "patient") {
			return e
		}
	}
	return ""
}

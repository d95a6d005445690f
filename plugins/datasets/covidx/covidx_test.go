package covidx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVariants(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "train.txt"), []byte("1 a.jpg normal src\n2 b c.png COVID-19 src\n3 d.jpg pneumonia\n4 e.jpg weird src\n"), 0o644)
	os.WriteFile(filepath.Join(root, "test.txt"), []byte("1 a.jpg positive src\n2 b.jpg negative src\n3 ../../x.jpg positive src\n"), 0o644)
	s, err := Open(root, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Task() != "multiclass" || s.Len() != 3 || len(s.Problems()) != 1 {
		t.Fatalf("%s %d %v", s.Task(), s.Len(), s.Problems())
	}
	if ex, _ := s.Example(1); ex.Labels[2] != 1 || filepath.Base(ex.ImagePath) != "b c.png" {
		t.Fatalf("%+v", ex)
	}
	b, _ := Open(root, Config{Variant: Binary})
	if b.Task() != "binary" || b.Examples[1].Labels[0] != 1 || b.Examples[0].Labels[0] != 0 {
		t.Fatalf("binary on a three-class file: %+v", b.Examples)
	}
	for _, v := range []string{Binary, Auto} {
		tb, err := Open(root, Config{Split: "test", Variant: v})
		if err != nil || tb.Task() != "binary" || tb.Len() != 2 || len(tb.Problems()) != 1 {
			t.Fatalf("binary file, variant %s: %v %v", v, tb, err)
		}
	}
}

// TestBinaryFileNeedsBinaryVariant: a positive/negative file is never read
// silently as a binary task: by default (three-class, the paper's task) it
// is an error naming the file and the variant to set.
func TestBinaryFileNeedsBinaryVariant(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "test.txt"), []byte("1 a.jpg positive src\n2 b.jpg negative src\n"), 0o644)
	for _, v := range []string{"", ThreeClass} {
		s, err := Open(root, Config{Split: "test", Variant: v})
		if err == nil || !strings.Contains(err.Error(), "test.txt") || !strings.Contains(err.Error(), "variant: binary") {
			t.Errorf("variant %q on a binary file: %v, %v", v, s, err)
		}
	}
}

// FuzzOpen feeds arbitrary txt files to the reader: it must never panic, and
// every example it keeps must carry one label per class.
func FuzzOpen(f *testing.F) {
	f.Add("p1 a.png normal rsna\np2 b.png COVID-19 cohen\n")
	f.Add("p1 a.png positive sirm\np2 b b.png negative\n")
	f.Add("x\n\"\n   \n1 2\n")
	f.Fuzz(func(t *testing.T, txt string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "train.txt"), []byte(txt), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Config{})
		if err != nil {
			return
		}
		for i := 0; i < s.Len(); i++ {
			ex, err := s.Example(i)
			if err != nil {
				continue
			}
			if len(ex.Labels) != len(s.LabelNames()) {
				t.Fatalf("example %d: %d labels for %d classes", i, len(ex.Labels), len(s.LabelNames()))
			}
		}
	})
}

// TestValidateVariant: the variant is checked against Config's enum tag,
// the same list the schema reports, and "" is the default three-class.
func TestValidateVariant(t *testing.T) {
	for _, v := range []string{"", Auto, ThreeClass, Binary} {
		if err := (Config{Variant: v}).Validate(); err != nil {
			t.Errorf("variant %q: %v", v, err)
		}
	}
	err := Config{Variant: "four-class"}.Validate()
	if want := `covidx: variant: value "four-class" is not one of three-class, binary, auto`; err == nil || err.Error() != want {
		t.Errorf("four-class: %v, want %s", err, want)
	}
}

package paired

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPairedCSV(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "r1.txt"), []byte("FINDINGS: Fracture of the radius.\n IMPRESSION: Fracture.\n"), 0o644)
	csv := "image,report,report_file,split\n" +
		"a.png;b.png,,r1.txt,train\n" +
		"c.png,Normal wrist.,,train\n" +
		"d.png,,missing.txt,train\n" +
		"/etc/x.png,Text.,,train\n" +
		"e.png,\"\xff\",,train\n" +
		"f.png,Other.,,test\n"
	os.WriteFile(filepath.Join(root, "pairs.csv"), []byte(csv), 0o644)
	s, err := Open(root, Config{Split: "train"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || len(s.Problems()) != 3 {
		t.Fatalf("%d examples %v", s.Len(), s.Problems())
	}
	if ex := s.Examples[0]; len(ex.Texts) != 2 || ex.Texts[1] != "Fracture." {
		t.Fatalf("%+v", ex)
	}
}

package chexpert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/source"
)

const header = "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices\n"

func setup(t *testing.T, rows string) string {
	root := filepath.Join(t.TempDir(), "CheXpert-v1.0-small")
	for _, p := range []string{"train/patient00001/study1/view1_frontal.jpg", "train/patient00002/study1/view1_frontal.jpg"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte{0xFF, 0xD8}, 0o644)
	}
	os.WriteFile(filepath.Join(root, "train.csv"), []byte(header+rows), 0o644)
	return root
}

func TestPolicies(t *testing.T) {
	root := setup(t, "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Male,50,Frontal,AP,,,-1.0,,,-1.0,-1.0,,-1.0,,-1.0,,,\n")
	s, err := Open(root, Config{})
	if err != nil || s.Len() != 1 {
		t.Fatal(err, s)
	}
	// Competition order: Atelectasis(ones) Cardiomegaly(zeros) Consolidation(zeros) Edema(ones) Effusion(ones).
	want := []float32{1, 0, 0, 1, 1}
	ex, _ := s.Example(0)
	for i, v := range want {
		if ex.Labels[i] != v {
			t.Fatalf("labels %v, want %v", ex.Labels, want)
		}
	}
	s, _ = Open(root, Config{Policy: map[string]string{}, Default: Ignore})
	ex, _ = s.Example(0)
	for _, v := range ex.Labels {
		if !source.IsNaN(v) {
			t.Fatalf("ignore policy gave %v", ex.Labels)
		}
	}
	if _, err := Open(root, Config{Policy: map[string]string{"Edema": "maybe"}}); err == nil {
		t.Fatal("bad policy accepted")
	}
}

func TestBadRows(t *testing.T) {
	rows := "CheXpert-v1.0-small/../../etc/passwd,Male,50,Frontal,AP,,,,,,,,,,,,,,\n" +
		"CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg,Male,50,Frontal,AP,,,2.0,,,,,,,,,,,\n" +
		"CheXpert-v1.0-small/train/patient00009/study1/view1_frontal.jpg,Male,50,Frontal,AP,,,,,,,,,,,,,,\n" +
		"CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Male,50,Fro"
	s, err := Open(setup(t, rows), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 || len(s.Problems()) != 4 {
		t.Fatalf("%d examples, problems %v", s.Len(), s.Problems())
	}
	for i, want := range []string{"truncated", "escapes", "not 1, 0", "missing"} {
		if !strings.Contains(s.Problems()[i].Error(), want) || s.Problems()[i].Line == 0 {
			t.Errorf("problem %d: %v", i, s.Problems()[i])
		}
	}
}

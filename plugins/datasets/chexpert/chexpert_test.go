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

// lateralSetup writes a CheXpert folder whose patient00001 has a frontal
// and a lateral view of study1 and a frontal of study2.
func lateralSetup(t *testing.T, head string) string {
	root := filepath.Join(t.TempDir(), "CheXpert-v1.0-small")
	var rows string
	for _, p := range []string{"train/patient00001/study1/view1_frontal.jpg", "train/patient00001/study1/view2_lateral.jpg", "train/patient00001/study2/view1_frontal.jpg"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte{0xFF, 0xD8}, 0o644)
		view := ",Frontal,AP"
		if strings.Contains(p, "lateral") {
			view = ",Lateral,"
		}
		if head != header {
			view = ""
		}
		rows += "CheXpert-v1.0-small/" + p + ",Male,50" + view + strings.Repeat(",", 14) + "\n"
	}
	os.WriteFile(filepath.Join(root, "train.csv"), []byte(head+rows), 0o644)
	return root
}

// TestFrontalOnly: frontal_only drops the lateral views; without it they
// are kept. A file without the Frontal/Lateral column cannot honour it,
// which is an error naming the key and the file, not every image kept.
func TestFrontalOnly(t *testing.T) {
	root := lateralSetup(t, header)
	all, err := Open(root, Config{})
	if err != nil || all.Len() != 3 {
		t.Fatalf("all views: %v %v", all, err)
	}
	frontal, err := Open(root, Config{FrontalOnly: true})
	if err != nil || frontal.Len() != 2 {
		t.Fatalf("frontal_only: %v %v", frontal, err)
	}
	for i := range frontal.Len() {
		if ex, _ := frontal.Example(i); strings.Contains(ex.ID, "lateral") {
			t.Errorf("frontal_only kept %s", ex.ID)
		}
	}
	noView := strings.Replace(header, "Frontal/Lateral,AP/PA,", "", 1)
	root = lateralSetup(t, noView)
	if s, err := Open(root, Config{}); err != nil || s.Len() != 3 {
		t.Fatalf("without the view column: %v %v", s, err)
	}
	_, err = Open(root, Config{FrontalOnly: true})
	if err == nil || !strings.Contains(err.Error(), "frontal_only") || !strings.Contains(err.Error(), "train.csv") || !strings.Contains(err.Error(), "Frontal/Lateral") {
		t.Errorf("frontal_only without a Frontal/Lateral column: %v", err)
	}
}

// TestGroupIsPatient: every image of a patient, over studies and views,
// has the same Group, the patient, so that no holdout splits a patient.
func TestGroupIsPatient(t *testing.T) {
	s, err := Open(lateralSetup(t, header), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Len() {
		if ex, _ := s.Example(i); ex.Group != "patient00001" {
			t.Errorf("%s: group %q, want patient00001", ex.ID, ex.Group)
		}
	}
}

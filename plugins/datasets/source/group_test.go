package source

import "testing"

func TestPatientInPath(t *testing.T) {
	for rel, want := range map[string]string{
		"CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg":  "patient00001",
		"train/patient64541/study2/view2_lateral.jpg":                      "patient64541",
		"MURA-v1.1/valid/XR_WRIST/patient11185/study1_positive/image1.png": "patient11185",
		"files/p10/p10000032/s50414267/x.jpg":                              "",
		"patients/patient/patientX1/img.png":                               "",
		"":                                                                 "",
	} {
		if got := PatientInPath(rel); got != want {
			t.Errorf("PatientInPath(%q) = %q, want %q", rel, got, want)
		}
	}
}

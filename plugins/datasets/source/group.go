package source

import "strings"

// PatientInPath returns the first element of a slash-separated index path
// that names a patient as CheXpert and MURA do ("patient" and digits, as in
// "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg"), or ""
// when there is none. Readers use it as Example.Group, the unit that must
// not be split between training and held-out rows.
func PatientInPath(rel string) string {
	for _, e := range strings.Split(rel, "/") {
		digits := strings.TrimPrefix(e, "patient")
		if len(digits) == len(e) || digits == "" {
			continue
		}
		if strings.Trim(digits, "0123456789") == "" {
			return e
		}
	}
	return ""
}

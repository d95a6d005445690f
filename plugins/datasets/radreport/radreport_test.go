package radreport

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const sample = `                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___F with cough.

 COMPARISON:  ___

 FINDINGS:

 The heart is enlarged. No pleural effusion.  There is a 1.5 cm nodule
 in the right upper lobe.

 IMPRESSION:

 1. Cardiomegaly.
 2. Right upper lobe nodule.
`

func TestParseSections(t *testing.T) {
	r := Parse(sample)
	var names []string
	for _, s := range r.Sections {
		names = append(names, s.Name)
	}
	want := []string{"EXAMINATION", "INDICATION", "COMPARISON", "FINDINGS", "IMPRESSION"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("sections %v", names)
	}
	if got := r.Get("EXAMINATION"); got != "CHEST (PA AND LAT)" {
		t.Fatalf("examination %q", got)
	}
	fi, err := FindingsImpression(sample)
	if err != nil {
		t.Fatal(err)
	}
	got := Sentences(fi)
	wantS := []string{"The heart is enlarged.", "No pleural effusion.",
		"There is a 1.5 cm nodule in the right upper lobe.", "Cardiomegaly.", "Right upper lobe nodule."}
	if !reflect.DeepEqual(got, wantS) {
		t.Fatalf("sentences %q", got)
	}
}

func TestFallbacks(t *testing.T) {
	conc := "FINAL REPORT\n INDICATION: pain\n\n CONCLUSION: Normal chest."
	if got, _ := FindingsImpression(conc); got != "Normal chest." {
		t.Fatalf("conclusion: %q", got)
	}
	none := "FINAL REPORT\n INDICATION: pain\n\n Lungs are clear.\n"
	if got, _ := FindingsImpression(none); got != "Lungs are clear." {
		t.Fatalf("last paragraph: %q", got)
	}
	if _, err := FindingsImpression("  \n\n"); err != ErrEmpty {
		t.Fatalf("empty: %v", err)
	}
	if _, err := FindingsImpression("FINDINGS: \xff"); err != ErrNotUTF8 {
		t.Fatalf("utf8: %v", err)
	}
}

func TestSentencesAbbrev(t *testing.T) {
	got := Sentences("Seen by Dr. Smith at 3 p.m. today. Stable? Yes!")
	if len(got) != 3 || !strings.HasPrefix(got[0], "Seen by Dr. Smith") {
		t.Fatalf("%q", got)
	}
}

func FuzzReport(f *testing.F) {
	f.Add(sample)
	f.Add("FINDINGS:\nIMPRESSION:\n")
	f.Add(" A: b. c: d.\n\n1. 2. 3.")
	f.Add("\xff\xfe FINDINGS: x")
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse(s)
		for _, sec := range r.Sections {
			if sec.Line < 1 || sec.Name == "" {
				t.Fatalf("bad section %+v", sec)
			}
		}
		fi, err := FindingsImpression(s)
		if err != nil {
			return
		}
		for _, sent := range Sentences(fi) {
			if sent == "" || strings.TrimSpace(sent) != sent || !utf8.ValidString(sent) {
				t.Fatalf("bad sentence %q", sent)
			}
		}
	})
}

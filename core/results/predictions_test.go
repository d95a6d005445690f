package results

import (
	"os"
	"strings"
	"testing"
)

// TestReadPredictionsErrorsNameLineAndColumn pins the errors of a bad cell
// in either layout: each names the line and the column at fault.
func TestReadPredictionsErrorsNameLineAndColumn(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"id,Edema:true,Edema:score\na,1,0.5\nb,x,0.5\n", `results: predictions line 3, Edema:true: strconv.ParseFloat: parsing "x": invalid syntax`},
		{"id,Edema:true,Edema:score\na,1,y\n", `results: predictions line 2, Edema:score: strconv.ParseFloat: parsing "y": invalid syntax`},
		{"id,Edema:true,Edema:score\na,1\n", "results: predictions: record on line 2: wrong number of fields"},
		{"id,true,score:a,score:b\nx,a,0.5,0.5\ny,b,0.5,z\n", `results: predictions line 3, score:b: strconv.ParseFloat: parsing "z": invalid syntax`},
		{"id,true,score:a\nx,b,0.5\n", `results: predictions line 2: class "b" is not in the header`},
	} {
		_, err := ReadPredictions(strings.NewReader(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("ReadPredictions(%q) = %v, want %s", c.in, err, c.want)
		}
	}
}

// TestReadPredictionsFileNamesTheFile reads a predictions CSV from a
// relative path back as written, and names the file in a bad one's error.
func TestReadPredictionsFileNamesTheFile(t *testing.T) {
	t.Chdir(t.TempDir())
	var b strings.Builder
	if err := WriteClassPredictions(&b, []string{"x"}, []string{"a", "b"}, []int{1}, [][]float32{{0.25, 0.75}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("good.csv", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPredictionsFile("good.csv")
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.(*ClassPredictions)
	if !ok || len(c.IDs) != 1 || c.IDs[0] != "x" || c.Truth[0] != 1 || c.Scores[0][1] != 0.75 {
		t.Fatalf("ReadPredictionsFile(good.csv) = %#v", p)
	}
	if err := os.WriteFile("bad.csv", []byte("id,true,score:a\nx,b,0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `bad.csv: results: predictions line 2: class "b" is not in the header`
	if _, err := ReadPredictionsFile("bad.csv"); err == nil || err.Error() != want {
		t.Errorf("ReadPredictionsFile(bad.csv) = %v, want %s", err, want)
	}
	if _, err := ReadPredictionsFile("missing.csv"); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("ReadPredictionsFile(missing.csv) = %v, want an error naming the file", err)
	}
}

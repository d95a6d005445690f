package results

import (
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

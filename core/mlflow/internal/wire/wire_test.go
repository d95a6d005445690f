package wire

import (
	"encoding/json"
	"math"
	"testing"
)

// TestMetricRoundTripsNonFinite: NaN and the infinities cross the wire as
// protobuf JSON strings and come back as they left; a plain number is a
// JSON number.
func TestMetricRoundTripsNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.25} {
		in := Metric{Key: "loss", Value: v, Timestamp: 1700000000000, Step: 7}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("marshal %v: %v", v, err)
		}
		var out Metric
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		same := out.Value == v || (math.IsNaN(v) && math.IsNaN(out.Value))
		if !same || out.Key != in.Key || out.Timestamp != in.Timestamp || out.Step != in.Step {
			t.Errorf("%s came back as %+v", b, out)
		}
	}
	b, _ := json.Marshal(Metric{Key: "k", Value: 0.25})
	if want := `{"key":"k","value":0.25,"timestamp":0,"step":0}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if b, _ := json.Marshal(Metric{Key: "k", Value: math.NaN()}); string(b) != `{"key":"k","value":"NaN","timestamp":0,"step":0}` {
		t.Errorf("NaN as %s", b)
	}
}

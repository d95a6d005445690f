package jsonstate

import (
	"strings"
	"testing"
)

type testState struct {
	Version int     `json:"version"`
	X       float64 `json:"x"`
}

func (s *testState) StateVersion() int { return s.Version }

func TestRoundTrip(t *testing.T) {
	b, err := Encode("p", testState{Version: 2, X: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"version":2,"x":0.1}` {
		t.Fatalf("Encode = %s", b)
	}
	var st testState
	if err := Decode("p", b, &st, 2); err != nil {
		t.Fatal(err)
	}
	if st != (testState{Version: 2, X: 0.1}) {
		t.Fatalf("Decode = %+v", st)
	}
}

func TestDecodeErrorsNameThePlugin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"version":`, "p: decode state: "},
		{`{"version":1,"x":0}`, "p: state version 1, want 2"},
	} {
		var st testState
		err := Decode("p", []byte(c.in), &st, 2)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Decode(%s) = %v, want an error starting %q", c.in, err, c.want)
		}
	}
}

func TestEncodeErrorNamesThePlugin(t *testing.T) {
	_, err := Encode("p", map[string]any{"f": func() {}})
	if err == nil || !strings.HasPrefix(err.Error(), "p: encode state: ") {
		t.Fatalf("Encode(func) = %v", err)
	}
}

// headerState embeds Header, as a plugin's state does.
type headerState struct {
	Header
	X float64 `json:"x"`
}

// TestHeader: an embedded Header is the "version" key, first, and makes the
// state Versioned.
func TestHeader(t *testing.T) {
	b, err := Encode("p", headerState{Header{3}, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"version":3,"x":0.5}` {
		t.Fatalf("Encode = %s", b)
	}
	var st headerState
	if err := Decode("p", b, &st, 3); err != nil || st.Version != 3 || st.X != 0.5 {
		t.Fatalf("Decode = %+v, %v", st, err)
	}
	if err := Decode("p", b, &st, 4); err == nil {
		t.Error("version 3 accepted as 4")
	}
}

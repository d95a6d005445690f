package torchpickle

import (
	"strings"
	"testing"
)

// TestRewrite checks each translation on hand-written protocol-2 pickles.
func TestRewrite(t *testing.T) {
	const od = "ccollections\nOrderedDict\nq\x00)R"
	key := "(X" + string(rune(len(BuildKey))) + "\x00\x00\x00" + BuildKey
	for _, c := range []struct{ name, in, want string }{
		{"dict untouched", "\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02u.", "\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02u."},
		{"setitem", "\x80\x02}X\x01\x00\x00\x00aK\x01s.", "\x80\x02}(X\x01\x00\x00\x00aK\x01u."},
		{"append", "\x80\x02]K\x07a.", "\x80\x02](K\x07e."},
		{"ordereddict", "\x80\x02" + od + "q\x01.", "\x80\x02}q\x01."},
		// The class memoised at 0 is fetched again for the second one, and a
		// BUILD on the first sets its attributes from the second.
		{"ordereddict again and build", "\x80\x02" + od + "h\x00)Rb.", "\x80\x02}" + key + "}u."},
		// OrderedDict called with arguments is left for libtorch to refuse.
		{"ordereddict with args", "\x80\x02ccollections\nOrderedDict\n]\x85R.", "\x80\x02ccollections\nOrderedDict\n]\x85R."},
		// A 'b' or 's' byte inside an argument is not an opcode.
		{"argument bytes", "\x80\x02X\x02\x00\x00\x00bs.", "\x80\x02X\x02\x00\x00\x00bs."},
	} {
		got, err := rewrite([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s: rewrite(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
	for _, c := range []struct{ name, in, want string }{
		{"unknown opcode", "\x80\x02\xff.", "unknown opcode 0xff"},
		{"truncated", "\x80\x02X\x09\x00\x00\x00ab", "truncated"},
		{"underflow", "\x80\x02s.", "stack underflow"},
		{"no mark", "\x80\x02K\x01u.", "no MARK"},
		{"no stop", "\x80\x02K\x01", "no STOP"},
	} {
		if _, err := rewrite([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzRewrite: no input panics, and a translated pickle translates to
// itself (it holds nothing left to translate).
func FuzzRewrite(f *testing.F) {
	f.Add([]byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00aK\x01sh\x00)Rb."))
	f.Add([]byte("\x80\x02](K\x01K\x02eK\x03a."))
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := rewrite(p)
		if err != nil {
			return
		}
		again, err := rewrite(out)
		if err != nil {
			t.Fatalf("rewrite(%q) = %q, which does not rewrite: %v", p, out, err)
		}
		if string(again) != string(out) {
			t.Fatalf("rewrite is not idempotent: %q -> %q -> %q", p, out, again)
		}
	})
}

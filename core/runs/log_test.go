package runs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParamsAndTagsRefuseBadKeys checks what LogParams and SetTags refuse,
// each naming the run and the operation: an empty key, and for params a
// new value for a logged key; a refused call writes nothing.
func TestParamsAndTagsRefuseBadKeys(t *testing.T) {
	r, err := Create(t.TempDir(), "e", Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Meta().ID
	if err := r.LogParams(map[string]string{"lr": "0.1"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"empty param key", func() error { return r.LogParams(map[string]string{"": "x", "b": "2"}) }, "run " + id + ": log param: empty key"},
		{"changed param", func() error { return r.LogParams(map[string]string{"lr": "0.2", "c": "3"}) },
			`run ` + id + `: log param "lr": already logged as "0.1", cannot change to "0.2"`},
		{"empty tag key", func() error { return r.SetTags(map[string]string{"": "x", "d": "4"}) }, "run " + id + ": set tag: empty key"},
	} {
		if err := c.call(); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	params, _ := os.ReadFile(filepath.Join(r.Dir(), ParamsFile))
	tags, _ := os.ReadFile(filepath.Join(r.Dir(), TagsFile))
	for _, k := range []string{`"b"`, `"c"`, `"d"`, `"0.2"`} {
		if strings.Contains(string(params)+string(tags), k) {
			t.Errorf("a refused call wrote %s:\nparams %s\ntags %s", k, params, tags)
		}
	}
	if err := r.SetTags(map[string]string{"d": "4"}); err != nil || r.Tags()["d"] != "4" {
		t.Errorf("SetTags after refusals: %v, tags %v", err, r.Tags())
	}
}

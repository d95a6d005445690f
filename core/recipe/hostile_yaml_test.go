package recipe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/knadh/koanf/maps"
	"gopkg.in/yaml.v3"
)

// The YAML inputs of issue 24 that the decoder did not survive: wide
// mappings, extra documents, duplicate keys, values out of range, alias
// bombs; and the linear converter checked against yaml.v3's decoding.

// TestWideMapping: 50,000 keys in one mapping and 20,000 in another,
// within the default size limit. The old loader took minutes on such a file
// (yaml.v3's decoding compares each key of a mapping with every other one);
// the loader is linear now, so a regression shows as a test that takes
// minutes (TestLoadCancelled checks that such work stops on ^C).
func TestWideMapping(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "text_encoder: {plugin: t}\nevaluate:\n- name: e\n  evaluator: {plugin: l}\n  dataset: {plugin: d}\n  protocol: zeroshot\n  prompts:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "    c%d: [p]\n", i)
	}
	valid := b.String()
	b.WriteString("junk:\n")
	for i := range 50000 {
		fmt.Fprintf(&b, "  k%d: 1\n", i)
	}
	if b.Len() > DefaultMaxBytes {
		t.Fatalf("test recipe is %d bytes", b.Len())
	}
	r, err := Parse("wide.yaml", []byte(b.String()), Options{Getenv: env(nil)})
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) != 1 || ds[0].Path != "junk" || ds[0].Line != 10+20000 {
		t.Fatalf("want one diagnostic for junk at line %d, got %v", 10+20000, err)
	}
	if n := len(r.Tree()["junk"].(map[string]any)); n != 50000 {
		t.Errorf("junk has %d keys", n)
	}
	r, err = Parse("wide.yaml", []byte(valid), Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Evaluate[0].Prompts); n != 20000 {
		t.Errorf("%d prompts", n)
	}
}

// TestSecondDocument: a later YAML document in the file was ignored.
func TestSecondDocument(t *testing.T) {
	_, err := Parse("two.yaml", []byte(minimal+"---\nname: y\n"), Options{})
	if err == nil || err.Error() != "two.yaml:3: a second YAML document starts here (after ---); a recipe is one document: put the other in its own file (it may name this one in base:)" {
		t.Errorf("got %v", err)
	}
	// An empty document after "---" holds nothing to lose.
	for _, s := range []string{"---\n" + minimal, minimal + "---\n", minimal + "...\n", minimal + "---\n# end\n"} {
		if _, err := Parse("one.yaml", []byte(s), Options{}); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestDuplicateKey names the key path and both lines.
func TestDuplicateKey(t *testing.T) {
	_, err := Parse("dup.yaml", []byte(minimal+"train:\n  lr: 0.1\n  batch_size: 2\n  lr: 0.2\n"), Options{})
	if err == nil || err.Error() != "dup.yaml:6: key train.lr: is already defined at line 4" {
		t.Errorf("got %v", err)
	}
}

// TestDecodeErrorNamesKey: an integer too large for an int passed the
// schema (YAML reads it as a float with an integral value) and failed the
// typed decode at "line 107" of the resolved tree, a file nobody sees.
func TestDecodeErrorNamesKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.yaml":  baseRecipe,
		"child.yaml": "base: base.yaml\ntrain:\n  max_steps: 99999999999999999999\n",
	})
	f := filepath.Join(dir, "child.yaml")
	_, err := Load(f, Options{Getenv: env(nil)})
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) != 1 {
		t.Fatalf("want one diagnostic, got %v", err)
	}
	if d := ds[0]; d.File != f || d.Line != 3 || d.Path != "train.max_steps" || !strings.Contains(d.Message, "1e+20") {
		t.Errorf("got %q", d.String())
	}
}

// FuzzConvert: the linear converter gives what yaml.v3's decoding gave the
// loader (yaml.Unmarshal, keys made strings), on every single-document input
// both accept whose keys are all strings.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob("../../recipes/*/*.yaml")
	for _, p := range append(files, "../../recipes/demo.yaml") {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "~", "a: 1", "a: &x {b: 1, c: [1, 2.5, true, null, ~, 'q']}\nd: *x\n",
		"base: &b {x: 1, y: 2}\nk:\n  <<: *b\n  y: 3\n", "k:\n  <<: [{x: 1}, {x: 2, z: 3}]\n  w: 0\n",
		"a: !!str 1\nb: !!float 2\nc: 0x1F\nd: 1e3\ne: .inf\nf: 2001-12-14\n", "a: {}\nb: []\nc:\n", "x: &a [*a]\n",
		"a: 1\na: 2\n", "? [a]\n: b\n", "- 1\n- 2\n", "a:\n  - {b: 1}\n  - [c, {d: e}]\n", "<<: {a: 1}\n", "a: |\n  text\n  more\n", " 00A:\n00", "<<:\n{}:"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var old map[string]any
		oldErr := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("yaml.v3 panicked: %v", p) // on "<<:\n{}:"
				}
			}()
			return yaml.Unmarshal(data, &old)
		}()
		got, diags, err := parseRecipe(context.Background(), "f.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		var n, next yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(data))
		if dec.Decode(&n) != nil || !stringKeys(&n) {
			return
		}
		if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
			// More than one document (yaml.Unmarshal reads the first).
			if !emptyDocument(&next) && len(diags) == 0 {
				t.Fatalf("a second document (%v) accepted", err)
			}
			return
		}
		if oldErr != nil {
			if len(diags) == 0 {
				t.Fatalf("yaml.v3 refused it (%v), the converter did not", oldErr)
			}
			return
		}
		if len(diags) > 0 {
			t.Fatalf("yaml.v3 accepted it, the converter said %v", Diagnostics(diags))
		}
		if old == nil {
			old = map[string]any{}
		}
		maps.IntfaceKeysToStrings(old)
		if a, b := fmt.Sprintf("%#v", old), fmt.Sprintf("%#v", got.tree); a != b {
			t.Fatalf("yaml.v3: %s\nconvert: %s", a, b)
		}
	})
}

// stringKeys reports whether every mapping key below n is a !!str scalar
// (or a merge key).
func stringKeys(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if t := n.Content[i].ShortTag(); t != "!!str" && t != "!!merge" {
				return false
			}
		}
	}
	for _, c := range n.Content {
		if !stringKeys(c) {
			return false
		}
	}
	return true
}

// TestDecodeTypedMatchesDecode: building the plugin configs, prompts and
// sweep by hand gives the typed recipe the whole-tree yaml.v3 round trip
// gave (a float 2.0 in a config still arrives as the int 2).
func TestDecodeTypedMatchesDecode(t *testing.T) {
	files, _ := filepath.Glob("../../recipes/*/*.yaml")
	files = append(files, "../../recipes/demo.yaml")
	dir := writeFiles(t, map[string]string{"odd.yaml": minimal + `text_encoder:
  plugin: b
  config: {lr: 2.0, big: 1e300, t: 2001-12-14, n: ~, deep: {a: [1, 2.5, {b: "1"}], "true": yes}, empty: {}, list: []}
loss: {plugin: l, config: {tau: 0.1}}
data: {pretrain: {plugin: p, config: {root: /d}}}
evaluate:
- name: z
  evaluator: {plugin: z, config: {k: [1, 5]}}
  dataset: {plugin: d}
  protocol: zeroshot
  prompts: {A: [a, 1, 2.0, true], B: []}
sweep:
  train.lr: [1.0e-4, 1]
  seed: [1, 2]
`})
	files = append(files, filepath.Join(dir, "odd.yaml"))
	for _, f := range files {
		r, err := Load(f, Options{Getenv: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		old := &Recipe{Source: r.Source, Overrides: r.Overrides, tree: r.tree, origins: r.origins}
		if err := old.decode(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(old, r) {
			a, _ := json.MarshalIndent(old, "", " ")
			b, _ := json.MarshalIndent(r, "", " ")
			t.Errorf("%s:\ndecode:      %s\ndecodeTyped: %s", f, a, b)
		}
	}
}

// TestBombs: the converter keeps yaml.v3's guards against alias expansion
// and self-reference, and bounds nesting (thousands of levels took seconds
// in the merge).
func TestBombs(t *testing.T) {
	laughs := "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 8) + "*" + prev + "]\n"
		prev = n
	}
	for name, c := range map[string]struct{ data, want string }{
		"laughs": {laughs, "laughs.yaml:1: invalid YAML: the document expands too many aliases (a YAML bomb?)"},
		"self":   {"x: &a [*a]\n", `self.yaml:1: invalid YAML: anchor "a" contains itself`},
		"deep":   {"a: " + strings.Repeat("{a: ", 5000) + strings.Repeat("}", 5000) + "\n", "deep.yaml:1: invalid YAML: mappings and lists nest deeper than 64 levels"},
		"key":    {"<<:\n{}:\n", "key.yaml:2: invalid YAML: a key must be a plain value, not a mapping"}, // was "runtime error: hash of unhashable type"
	} {
		_, err := Parse(name+".yaml", []byte(c.data), Options{})
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %s", name, err, c.want)
		}
	}
}

package recipe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/knadh/koanf/maps"
	"gopkg.in/yaml.v3"
)

// The inputs of issue 24 that the loader did not survive, and its messages.

// cappedEnv names, in a child test process, the test to run under a memory
// cap.
const cappedEnv = "CONVIRT_TEST_CAPPED"

// capped runs body in a child process of the test binary whose address
// space is capped (RLIMIT_AS) at 512 MiB above what it has mapped at start:
// code that reads without bound (os.ReadFile of /dev/zero) then dies with
// "out of memory" and fails the test instead of eating the machine. t must
// be a top-level test.
func capped(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(cappedEnv) == t.Name() {
		vm, err := vmSize()
		if err != nil {
			t.Fatalf("cannot cap memory: %v", err)
		}
		lim := vm + 512<<20
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
			t.Fatalf("cannot cap memory: %v", err)
		}
		body(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v")
	cmd.Env = append(os.Environ(), cappedEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		if len(out) > 4000 {
			out = append(out[:4000], "\n[...]"...)
		}
		t.Fatalf("child test under a 512 MiB memory cap failed: %v\n%s", err, out)
	}
}

// vmSize returns the address space the process has mapped, in bytes.
func vmSize() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, sc.Err()
}

const minimal = "name: x\nimage_encoder: {plugin: r}\n"

// TestBaseDevZero: `base: /dev/zero` grew the host to 23 GB. It is refused
// by its kind, before any read; so are a directory, as the recipe or a base.
func TestBaseDevZero(t *testing.T) {
	capped(t, func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"zero.yaml": "base: /dev/zero\n" + minimal,
			"dir.yaml":  "base: sub\n" + minimal,
			"sub/x":     "",
		})
		for name, want := range map[string]string{
			"zero.yaml": "zero.yaml:1: key base: cannot read base recipe: /dev/zero: not a regular file (a character device)",
			"dir.yaml":  "dir.yaml:1: key base: cannot read base recipe: " + filepath.Join(dir, "sub") + ": not a regular file (a directory)",
		} {
			_, err := Load(filepath.Join(dir, name), Options{})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: got %v, want %q", name, err, want)
			}
		}
		for _, p := range []string{"/dev/zero", dir} {
			_, err := Load(p, Options{})
			if err == nil || !strings.Contains(err.Error(), p+": not a regular file") {
				t.Errorf("recipe %s: got %v", p, err)
			}
		}
	})
}

// TestFIFORecipe: opening a named pipe waits for a writer, and reading it
// waits for its end; a FIFO, as the recipe or a base, is refused at once.
func TestFIFORecipe(t *testing.T) {
	dir := writeFiles(t, map[string]string{"r.yaml": "base: pipe\n" + minimal})
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan string, 2)
	go func() {
		_, err := Load(fifo, Options{})
		done <- fmt.Sprint(err)
		_, err = Load(filepath.Join(dir, "r.yaml"), Options{})
		done <- fmt.Sprint(err)
	}()
	for _, want := range []string{"recipe: " + fifo + ": not a regular file (a named pipe)", "r.yaml:1: key base: cannot read base recipe: " + fifo + ": not a regular file (a named pipe)"} {
		select {
		case got := <-done:
			if !strings.Contains(got, want) {
				t.Errorf("got %s, want %q", got, want)
			}
		case <-time.After(time.Minute): // a guard: the loader answers at once or blocks for ever
			t.Fatal("Load blocked on a named pipe")
		}
	}
}

// TestSizeLimit: a recipe over the limit is refused naming the file, the
// limit and how to raise it; the limit covers the bases too, and the option
// and the environment variable raise it.
func TestSizeLimit(t *testing.T) {
	pad := "# " + strings.Repeat("x", 97) + "\n" // 100 bytes
	dir := writeFiles(t, map[string]string{
		"big.yaml":   minimal + strings.Repeat(pad, 11000), // 1.1 MB
		"child.yaml": "base: half.yaml\n" + strings.Repeat(pad, 6000),
		"half.yaml":  minimal + strings.Repeat(pad, 6000),
	})
	big := filepath.Join(dir, "big.yaml")
	_, err := Load(big, Options{Getenv: env(nil)})
	want := fmt.Sprintf("recipe: %s is %d bytes, over the recipe size limit of 1048576 bytes (raise it with --max-recipe-bytes N or CONVIRT_MAX_RECIPE_BYTES=N)", big, len(minimal)+1100000)
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	_, err = Load(filepath.Join(dir, "child.yaml"), Options{Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "child.yaml:1: key base: cannot read base recipe: "+filepath.Join(dir, "half.yaml")+" ("+strconv.Itoa(len(minimal)+600000)+" bytes) takes the recipe and its bases over the size limit of 1048576 bytes together (raise it with") {
		t.Errorf("recipe and base over the limit together: %v", err)
	}
	if _, err := Parse("p.yaml", []byte(minimal+strings.Repeat(pad, 11000)), Options{Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "p.yaml is") {
		t.Errorf("Parse over the limit: %v", err)
	}
	for _, opt := range []Options{{MaxBytes: 2 << 20}, {Getenv: env(map[string]string{MaxBytesEnv: "2000000"})}} {
		if _, err := Load(big, opt); err != nil {
			t.Errorf("raised limit %+v: %v", opt.MaxBytes, err)
		}
		if _, err := Load(filepath.Join(dir, "child.yaml"), opt); err != nil {
			t.Errorf("raised limit %+v: %v", opt.MaxBytes, err)
		}
	}
	_, err = Load(big, Options{Getenv: env(map[string]string{MaxBytesEnv: "lots"})})
	if err == nil || !strings.Contains(err.Error(), `CONVIRT_MAX_RECIPE_BYTES="lots": want a positive number of bytes`) {
		t.Errorf("bad %s: %v", MaxBytesEnv, err)
	}
}

// TestBaseFanOut: a base list that doubles at every level of a 16-deep
// chain asked for 2^16 file loads; loads stop at maxFiles.
func TestBaseFanOut(t *testing.T) {
	files := map[string]string{"l14.yaml": minimal}
	for i := 0; i < 14; i++ {
		files[fmt.Sprintf("l%d.yaml", i)] = fmt.Sprintf("base: [l%d.yaml, l%d.yaml]\n", i+1, i+1)
	}
	dir := writeFiles(t, files)
	_, err := Load(filepath.Join(dir, "l0.yaml"), Options{})
	if err == nil || !strings.Contains(err.Error(), "more than 256 recipe files in one load") {
		t.Fatalf("fan-out: %v", err)
	}
}

// TestLoadCancelled: SIGINT cancels the CLI's context; loading stops soon
// after: within the file being expanded, and before the next base.
func TestLoadCancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("base: late.yaml\nname: x\nimage_encoder: {plugin: r}\njunk:\n")
	for i := range 30000 {
		fmt.Fprintf(&b, "  k%d: ${V}\n", i)
	}
	dir := writeFiles(t, map[string]string{"r.yaml": b.String(), "early.yaml": "name: ${EARLY}\n", "late.yaml": "base: early.yaml\nname: ${LATE}\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := map[string]int{}
	getenv := func(k string) (string, bool) {
		seen[k]++
		cancel() // the first variable looked up: the user presses ^C
		return "v", true
	}
	_, err := LoadContext(ctx, filepath.Join(dir, "r.yaml"), Options{Getenv: getenv, MaxBytes: 4 << 20})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "r.yaml: loading stopped") {
		t.Fatalf("got %v, want the file and context.Canceled", err)
	}
	if seen["EARLY"] != 1 || seen["LATE"] != 0 || seen["V"] != 0 {
		t.Errorf("lookups after the cancel: %v", seen)
	}
	// Cancelled while expanding the big file itself.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	seen = map[string]int{}
	big := writeFiles(t, map[string]string{"r.yaml": strings.Replace(b.String(), "base: late.yaml\n", "", 1)})
	_, err = LoadContext(ctx, filepath.Join(big, "r.yaml"), Options{Getenv: getenv, MaxBytes: 4 << 20})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if seen["V"] == 0 || seen["V"] > checkEvery {
		t.Errorf("%d of 30000 values expanded after the cancel, want at most %d", seen["V"], checkEvery)
	}
	// Cancelled before it starts.
	if _, err := LoadContext(ctx, filepath.Join(big, "r.yaml"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// TestWideMapping: 50,000 keys in one mapping and 20,000 in another,
// within the default size limit. The old loader took minutes on such a file
// (yaml.v3's decoding compares each key of a mapping with every other one);
// the loader is linear now, so a regression shows as a test that takes
// minutes (TestLoadCancelled checks that such work stops on ^C).
func TestWideMapping(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "evaluate:\n- name: e\n  evaluator: {plugin: l}\n  dataset: {plugin: d}\n  protocol: zeroshot\n  prompts:\n")
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
	if !errors.As(err, &ds) || len(ds) != 1 || ds[0].Path != "junk" || ds[0].Line != 9+20000 {
		t.Fatalf("want one diagnostic for junk at line %d, got %v", 9+20000, err)
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

// TestExperimentName: `run` refused `experiment: ../x` (it names a
// directory); `recipe validate` passed it.
func TestExperimentName(t *testing.T) {
	for _, e := range []string{"../x", "a/b", ".hidden", "..", `a\b`, ""} {
		_, err := Parse("e.yaml", []byte(minimal+"experiment: "+strconv.Quote(e)+"\n"), Options{})
		rule := "must be a plain directory name not starting with '.'"
		if e == "" {
			rule = "empty name"
		}
		want := fmt.Sprintf("e.yaml:3: key experiment: %q %s (runs are stored in output/experiment/)", e, rule)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("experiment %q: got %v", e, err)
		}
	}
	if _, err := Parse("e.yaml", []byte(minimal+"experiment: chest x-ray 2\n"), Options{}); err != nil {
		t.Errorf("plain name: %v", err)
	}
}

// TestRepeatedCells: `fractions: [1.0, 1.0]` ran the same cells twice (and
// gave the report a one-fraction axis); a fraction, init or seed given twice
// is refused by its key.
func TestRepeatedCells(t *testing.T) {
	ev := minimal + "evaluate:\n- name: e\n  evaluator: {plugin: l}\n  dataset: {plugin: d}\n  protocol: linear\n"
	for extra, want := range map[string]string{
		"  fractions: [0.1, 1.0, 1]\n":    "d.yaml:8: key evaluate.0.fractions.2: 1 is already fraction 1 of this evaluation",
		"  inits: [random, random]\n":     `d.yaml:8: key evaluate.0.inits.1: "random" is already init 0 of this evaluation`,
		"  seeds: [3, 1, 3]\n":            "d.yaml:8: key evaluate.0.seeds.2: 3 is already seed 0 of this evaluation",
		"  fractions: [0.01, 0.1, 1.0]\n": "",
	} {
		_, err := Parse("d.yaml", []byte(ev+extra), Options{})
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", extra, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", extra, err, want)
		}
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

// TestLoadRunDevZero: `run --resume` reads a run directory's files, which
// may be links to anything; they get the same limits as a recipe.
func TestLoadRunDevZero(t *testing.T) {
	capped(t, func(t *testing.T) {
		r, err := Parse("r.yaml", []byte(minimal), Options{})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := r.Save(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRun(dir, nil); err != nil {
			t.Fatal(err)
		}
		ov := filepath.Join(dir, OverridesFile)
		if err := os.Remove(ov); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/zero", ov); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRun(dir, nil); err == nil || !strings.Contains(err.Error(), ov+": not a regular file (a character device)") {
			t.Errorf("overrides linked to /dev/zero: %v", err)
		}
		if _, err := LoadRunContext(context.Background(), dir, Options{MaxBytes: 10}); err == nil || !strings.Contains(err.Error(), ResolvedFile+" is ") {
			t.Errorf("resolved recipe over a 10-byte limit: %v", err)
		}
	})
}

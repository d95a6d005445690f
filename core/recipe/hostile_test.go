package recipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/plugins/sdk/sdktest"
)

// The inputs of issue 24 that the loader did not survive, and its messages.

const minimal = "name: x\nimage_encoder: {plugin: r}\n"

// TestBaseDevZero: `base: /dev/zero` grew the host to 23 GB. It is refused
// by its kind, before any read; so are a directory, as the recipe or a base.
func TestBaseDevZero(t *testing.T) {
	sdktest.Capped(t, 512<<20, func(t *testing.T) {
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

// TestLoadRunDevZero: `run --resume` reads a run directory's files, which
// may be links to anything; they get the same limits as a recipe.
func TestLoadRunDevZero(t *testing.T) {
	sdktest.Capped(t, 512<<20, func(t *testing.T) {
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

// TestZeroshotInits: zero-shot classification of a random or ImageNet init
// goes through untrained heads; the recipe names the init at fault.
func TestZeroshotInits(t *testing.T) {
	const eval = `
evaluate:
  - name: zs
    evaluator: {plugin: zeroshot}
    dataset: {plugin: chexpert}
    protocol: zeroshot
    inits: [convirt, random]
    prompts: {a: [x]}
`
	_, err := Parse("z.yaml", []byte(minimal+eval), Options{})
	if err == nil || !strings.Contains(err.Error(), `key evaluate.0.inits.1: "random": zeroshot compares image and text projections`) {
		t.Fatalf("random init in zeroshot: %v", err)
	}
	ok := strings.Replace(eval, "[convirt, random]", "[convirt]", 1)
	if _, err := Parse("z.yaml", []byte(minimal+"text_encoder: {plugin: t}\n"+ok), Options{}); err != nil {
		t.Errorf("convirt only: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/registry"
)

// hostileRecipe writes a small valid evaluation-only recipe plus extra into
// a temporary directory and returns its path.
func hostileRecipe(t *testing.T, extra string) string {
	t.Helper()
	t.Setenv(registry.EnvDir, t.TempDir())
	dir := t.TempDir()
	y := "name: h\noutput: " + filepath.Join(dir, "runs") + "\nimage_encoder: {plugin: smallcnn}\n" + extra
	path := filepath.Join(dir, "h.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRecipeSizeLimitFlag: a recipe over the size limit is refused by
// `recipe validate` and `run`, naming the file, the limit and both ways to
// raise it; --max-recipe-bytes and CONVIRT_MAX_RECIPE_BYTES raise it.
func TestRecipeSizeLimitFlag(t *testing.T) {
	path := hostileRecipe(t, strings.Repeat("# padding to a megabyte and more\n", 40000))
	want := path + " is 1320"
	hint := "over the recipe size limit of 1048576 bytes (raise it with --max-recipe-bytes N or CONVIRT_MAX_RECIPE_BYTES=N)"
	for _, args := range [][]string{{"recipe", "validate", path}, {"recipe", "show", path}, {"run", "--dry-run", path}} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, want) || !strings.Contains(errs, hint) {
			t.Errorf("%v: exit %d\n%s", args, code, errs)
		}
		raised := append(append([]string(nil), args...), "--max-recipe-bytes", "2000000")
		if code, out, errs := runCLI(t, raised...); code != 0 {
			t.Errorf("%v: exit %d\n%s\n%s", raised, code, out, errs)
		}
	}
	t.Setenv(recipe.MaxBytesEnv, "2000000")
	if code, out, errs := runCLI(t, "recipe", "validate", path); code != 0 {
		t.Errorf("with %s: exit %d\n%s\n%s", recipe.MaxBytesEnv, code, out, errs)
	}
	if code, _, errs := runCLI(t, "recipe", "validate", path, "--max-recipe-bytes", "-1"); code != 2 || !strings.Contains(errs, "--max-recipe-bytes must be a positive number of bytes") {
		t.Errorf("negative limit: exit %d\n%s", code, errs)
	}
}

// TestRecipeNotARegularFile: /dev/zero as the recipe read without end.
func TestRecipeNotARegularFile(t *testing.T) {
	t.Setenv(registry.EnvDir, t.TempDir())
	for _, args := range [][]string{{"recipe", "validate", "/dev/zero"}, {"run", "/dev/zero"}} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, "/dev/zero: not a regular file (a character device)") {
			t.Errorf("%v: exit %d\n%s", args, code, errs)
		}
	}
}

// TestRecipeLoadingInterrupted: SIGINT and SIGTERM cancel the command's
// context; loading a recipe then stops with the context's error.
func TestRecipeLoadingInterrupted(t *testing.T) {
	path := hostileRecipe(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{{"recipe", "validate", path}, {"run", path}} {
		var out, errb bytes.Buffer
		if code := run(ctx, args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "context canceled") {
			t.Errorf("%v: exit %d\n%s", args, code, errb.String())
		}
	}
}

// TestValidateRefusesWhatRunRefuses: `experiment: ../x` passed `recipe
// validate` and failed `run` when it created the run directory.
func TestValidateRefusesWhatRunRefuses(t *testing.T) {
	path := hostileRecipe(t, "experiment: ../x\n")
	want := path + `:4: key experiment: "../x" must be a plain directory name not starting with '.'`
	for _, args := range [][]string{{"recipe", "validate", path}, {"run", path}} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%v: exit %d\n%s", args, code, errs)
		}
	}
}

package main

import (
	"strings"
	"testing"
)

// TestHelpEveryCommand: `convirt help CMD` and `convirt CMD --help` print,
// on stdout, the command's description, usage, an example of that command
// and its flags, for every command.
func TestHelpEveryCommand(t *testing.T) {
	for name, c := range commands {
		words := strings.Fields(name)
		for _, args := range [][]string{append([]string{"help"}, words...), append(words, "--help")} {
			code, out, errs := runCLI(t, args...)
			if code != 0 || errs != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, errs)
			}
			for _, want := range []string{"convirt " + name + ": " + c.Short, "Usage of convirt " + name + ":\n  convirt " + name, "Example:\n  convirt " + name} {
				if !strings.Contains(out, want) {
					t.Errorf("%q lacks %q:\n%s", args, want, out)
				}
			}
		}
	}
	_, out, _ := runCLI(t, "help", "run")
	if !strings.Contains(out, "-dry-run") || !strings.Contains(out, "convirt run recipes/demo.yaml train.max_steps=40") {
		t.Errorf("help run lacks its flags or example:\n%s", out)
	}
}

// TestGroupListsSubcommands: a group name alone lists its subcommands and
// exits 0; an unknown subcommand is a usage error with a did-you-mean.
func TestGroupListsSubcommands(t *testing.T) {
	for group, subs := range map[string][]string{
		"runs":          {"list", "show", "compare", "push", "report"},
		"recipe":        {"validate", "show", "expand", "docs"},
		"data":          {"inspect", "prepare"},
		"bench":         {"model", "convirt", "boundary", "data", "ratio"},
		"plugins":       {"list", "describe", "install", "verify", "index add"},
		"plugins index": {"add", "build", "list"},
	} {
		for _, args := range [][]string{strings.Fields(group), append([]string{"help"}, strings.Fields(group)...)} {
			code, out, errs := runCLI(t, args...)
			if code != 0 || errs != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, errs)
			}
			for _, s := range subs {
				if !strings.Contains(out, "\n  "+s+" ") {
					t.Errorf("%q does not list %q:\n%s", args, s, out)
				}
			}
		}
	}
}

// TestUnknownCommandDidYouMean: a mistyped command or subcommand exits 2
// with the closest name; a word close to nothing gets no guess.
func TestUnknownCommandDidYouMean(t *testing.T) {
	for args, want := range map[string]string{
		"rnu recipes/demo.yaml": `unknown command "rnu"; did you mean "run"?`,
		"runs lsit":             `unknown command "runs lsit"; did you mean "runs list"?`,
		"help recipe valdate":   `unknown command "recipe valdate"; did you mean "recipe validate"?`,
		"xyzzy":                 `unknown command "xyzzy" (see convirt help)`,
	} {
		code, _, errs := runCLI(t, strings.Fields(args)...)
		if code != 2 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args, code, errs, want)
		}
	}
}

// TestUnknownFlagDidYouMean: a mistyped flag exits 2 (a usage error) with
// the closest flag of that command and its usage line.
func TestUnknownFlagDidYouMean(t *testing.T) {
	code, _, errs := runCLI(t, "run", "../../recipes/demo.yaml", "--dri-run")
	if code != 2 || !strings.Contains(errs, "flag provided but not defined: -dri-run\ndid you mean --dry-run?\nusage: convirt run RECIPE") {
		t.Errorf("run --dri-run: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "runs", "list", "--experimnt", "demo")
	if code != 2 || !strings.Contains(errs, "did you mean --experiment?") {
		t.Errorf("runs list --experimnt: exit %d, stderr %q", code, errs)
	}
}

// TestKeyValueOverrides: Hydra-style key.path=value arguments override the
// recipe as --set does, for run and the recipe commands.
func TestKeyValueOverrides(t *testing.T) {
	demo := "../../recipes/demo.yaml"
	code, out, errs := runCLI(t, "recipe", "show", demo, "train.max_steps=40", "--set", "seed=7")
	if code != 0 || !strings.Contains(out, "max_steps: 40\n") || !strings.Contains(out, "seed: 7\n") {
		t.Errorf("recipe show with train.max_steps=40: exit %d, stderr %q\n%s", code, errs, out)
	}
	if code, out, errs := runCLI(t, "run", "--dry-run", demo, "sweep.seed=0,1"); code != 0 || out != "run 1: seed=0\nrun 2: seed=1\n" {
		t.Errorf("run --dry-run with sweep.seed=0,1: exit %d, stderr %q\n%s", code, errs, out)
	}
	if code, _, errs := runCLI(t, "recipe", "validate", demo, "train.max_steps=many"); code != 1 || !strings.Contains(errs, "train.max_steps=many") {
		t.Errorf("recipe validate with a bad override: exit %d, stderr %q", code, errs)
	}
}

// TestVersionFlag: `convirt --version` prints what `convirt version` does.
func TestVersionFlag(t *testing.T) {
	code, out, errs := runCLI(t, "--version")
	_, want, _ := runCLI(t, "version")
	if code != 0 || out != want || !strings.HasPrefix(out, "convirt  ") {
		t.Errorf("--version: exit %d, stderr %q\n%s\nwant\n%s", code, errs, out, want)
	}
}

// TestRecipeCommandsTakePlugins: `recipe validate` (and show, expand)
// take the plugin directory as `run` does, --plugins: a recipe naming an
// installed plugin validates against that directory and not without it.
func TestRecipeCommandsTakePlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	bin := buildExample(t)
	dir := t.TempDir()
	installCLI(t, "-dir", dir, bin)
	path, _ := exampleRecipe(t)
	t.Setenv("CONVIRT_PLUGIN_DIR", t.TempDir())
	if code, _, errs := runCLI(t, "recipe", "validate", path); code != 1 || !strings.Contains(errs, exampleName) {
		t.Errorf("validate without the plugin directory: exit %d, stderr %q", code, errs)
	}
	for _, sub := range []string{"validate", "show", "expand"} {
		if code, _, errs := runCLI(t, "recipe", sub, path, "--plugins", dir); code != 0 {
			t.Errorf("recipe %s --plugins: exit %d, stderr %q", sub, code, errs)
		}
	}
}

// TestPluginsCommandsTakePlugins: the plugins commands name the plugin
// directory --plugins, as run and the recipe commands do; -dir, their
// older name, still works.
func TestPluginsCommandsTakePlugins(t *testing.T) {
	for _, flag := range []string{"--plugins", "-dir"} {
		dir := t.TempDir()
		code, out, errs := runCLI(t, "plugins", "list", flag, dir)
		if code != 0 || !strings.Contains(out, "(no installed plugins in "+dir+")") {
			t.Errorf("plugins list %s: exit %d, stderr %q\n%s", flag, code, errs, out)
		}
	}
}

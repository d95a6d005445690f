package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/convirt/convirt/core/soak"
)

func init() {
	register(&command{
		Name:    "soak",
		Usage:   "[--recipe FILE] [--set key=value]... [--plugin-kills N] [--host-kills N] [--seed S] [--out DIR]",
		Short:   "run a recipe twice, once undisturbed and once with random plugin and host kills, and compare the results",
		Example: "soak --recipe recipes/demo.yaml --plugin-kills 3 --host-kills 2",
		Run:     runSoak,
	})
}

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("soak", stderr)
	file := fs.String("recipe", "recipes/demo.yaml", "the recipe to soak")
	var sets setFlags
	fs.Var(&sets, "set", "override `key.path=value` (repeatable), after the soak's own")
	pk := fs.Int("plugin-kills", 3, "plugin processes to SIGKILL during the disturbed run")
	hk := fs.Int("host-kills", 2, "times to SIGKILL the host during the disturbed run (then --resume)")
	seed := fs.Uint64("seed", 1, "seed of the kill schedule")
	out := fs.String("out", "", "directory for both runs (default: a new temporary directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *pk < 0 || *hk < 0 {
		return fmt.Errorf("%w: bad arguments", errUsage)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return soak.Run(ctx, soak.Options{Exe: exe, Recipe: *file, Sets: sets, PluginKills: *pk, HostKills: *hk, Seed: *seed,
		Out: *out, Stdout: stdout, Stderr: stderr})
}

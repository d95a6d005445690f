package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/cmd/convirt/internal/needs"
	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/recipe"
)

func init() {
	register(&command{
		Name:    "recipe validate",
		Usage:   "FILE [key.path=value]... [--set key.path=value]... [--deep] [--plugins DIR] [--max-recipe-bytes N]",
		Short:   "check a recipe strictly and list every problem (--deep: and what a run needs: data, weights, device, plugins, checkpoints, disk)",
		Example: "recipe validate recipes/demo.yaml train.max_steps=40\nrecipe validate --deep recipes/paper/table1.yaml",
		Run:     recipeValidate,
	})
	register(&command{
		Name:    "recipe show",
		Usage:   "FILE [key.path=value]... [--set key.path=value]... [--origins] [--plugins DIR] [--max-recipe-bytes N]",
		Short:   "print the fully resolved recipe (with --origins: where each value came from)",
		Example: "recipe show --origins recipes/paper/table1.yaml",
		Run:     recipeShow,
	})
	register(&command{
		Name:    "recipe expand",
		Usage:   "FILE [key.path=value]... [--set key.path=value]... [--plugins DIR] [--max-recipe-bytes N]",
		Short:   "list the child runs of a recipe's sweep and each evaluation's cells",
		Example: "recipe expand recipes/paper/table1.yaml",
		Run:     recipeExpand,
	})
	register(&command{
		Name:    "recipe docs",
		Usage:   "[-o docs/recipes.md]",
		Short:   "write the recipe reference generated from the schema",
		Example: "recipe docs -o docs/recipes.md",
		Run:     recipeDocs,
	})
}

// setFlags collects repeated --set arguments.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, " ") }

func (s *setFlags) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// recipeFlags are the flags of every command that loads a recipe (run and
// the recipe commands): --set, --plugins and --max-recipe-bytes.
type recipeFlags struct {
	sets      setFlags
	pluginDir *string
	limit     *int64
}

// addRecipeFlags adds the recipe flags to fs.
func addRecipeFlags(fs *flag.FlagSet) *recipeFlags {
	f := &recipeFlags{}
	fs.Var(&f.sets, "set", "override `key.path=value` (repeatable; a bare key.path=value argument does the same, after the --set ones)")
	f.limit = fs.Int64("max-recipe-bytes", 0, fmt.Sprintf("size limit of a recipe and its bases together, in `bytes` (default $%s, else %d)", recipe.MaxBytesEnv, recipe.DefaultMaxBytes))
	f.pluginDir = pluginsFlag(fs)
	return f
}

// parse parses args with fs (flags may follow arguments) and returns the
// positional arguments; the bare key.path=value ones join the --set ones.
func (f *recipeFlags) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	pos, kv := cli.SplitOverrides(pos)
	f.sets = append(f.sets, kv...)
	return pos, nil
}

// open checks --max-recipe-bytes and opens the launcher of --plugins; opt
// loads a recipe with the overrides, the plugins' schemas and the limit.
func (f *recipeFlags) open() (l *launch.Launcher, opt recipe.Options, err error) {
	if *f.limit < 0 {
		return nil, opt, fmt.Errorf("%w: --max-recipe-bytes must be a positive number of bytes, got %d", errUsage, *f.limit)
	}
	if l, err = newLauncher(*f.pluginDir); err != nil {
		return nil, opt, err
	}
	return l, recipe.Options{Sets: f.sets, Plugins: l.Schema, PluginNames: l.Names, MaxBytes: *f.limit}, nil
}

// continueCommand is the `convirt run` an interrupted run is continued
// with (before its --resume RUN_DIR): the flags given that the run needs
// again to start the same plugins and read its recipe.
func (f *recipeFlags) continueCommand() string {
	cmd := "convirt run"
	if *f.pluginDir != "" {
		cmd += " --plugins " + experiment.ShellQuote(*f.pluginDir)
	}
	if *f.limit > 0 {
		cmd += fmt.Sprintf(" --max-recipe-bytes %d", *f.limit)
	}
	return cmd
}

// pluginsFlag adds --plugins, the plugin directory, to fs (as `run` has it).
func pluginsFlag(fs *flag.FlagSet) *string {
	return fs.String("plugins", "", "plugin `DIR`ectory (default $CONVIRT_PLUGIN_DIR or ~/.convirt/plugins)")
}

// loadRecipeArgs parses FILE and the recipe flags (plus any extra flags fs
// holds) and loads the recipe; ctx (SIGINT, SIGTERM) stops the loading.
func loadRecipeArgs(ctx context.Context, fs *flag.FlagSet, args []string) (*recipe.Recipe, string, error) {
	f := addRecipeFlags(fs)
	pos, err := f.parse(fs, args)
	if err != nil {
		return nil, "", err
	}
	if len(pos) != 1 {
		return nil, "", fmt.Errorf("%w: want one recipe FILE, got %d arguments", errUsage, len(pos))
	}
	_, opt, err := f.open()
	if err != nil {
		return nil, "", err
	}
	r, err := recipe.LoadContext(ctx, pos[0], opt)
	return r, pos[0], err
}

// reportDiagnostics prints a Diagnostics error one per line and returns a
// short summary error; other errors pass through.
func reportDiagnostics(err error, stderr io.Writer) error {
	var ds recipe.Diagnostics
	if !errors.As(err, &ds) {
		return err
	}
	for _, d := range ds {
		fmt.Fprintln(stderr, d.String())
	}
	return fmt.Errorf("%d problem(s)", len(ds))
}

// expandRecipeArgs loads the recipe that the arguments give (parsed with
// fs) and expands its sweep; the diagnostics of a recipe that fails go to
// stderr.
func expandRecipeArgs(ctx context.Context, fs *flag.FlagSet, args []string, stderr io.Writer) (string, []recipe.Child, error) {
	r, file, err := loadRecipeArgs(ctx, fs, args)
	if err != nil {
		return "", nil, reportDiagnostics(err, stderr)
	}
	children, err := r.Expand(nil)
	if err != nil {
		return "", nil, reportDiagnostics(err, stderr)
	}
	return file, children, nil
}

func recipeValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recipe validate", stderr)
	deep := fs.Bool("deep", false, "also check what a run needs (dataset files, weights, device, plugin binaries, checkpoints, disk space) and list every problem")
	file, children, err := expandRecipeArgs(ctx, fs, args, stderr)
	if err != nil {
		return err
	}
	if *deep {
		reg, err := pluginRegistry(fs.Lookup("plugins").Value.String())
		if err = errors.Join(err, needs.Report(ctx, stderr, reg, children)); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s: ok (%d run(s); plugin configs checked against their schemas)\n", file, len(children))
	return nil
}

func recipeShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recipe show", stderr)
	origins := fs.Bool("origins", false, "annotate each value with the file:line, --set or default it came from")
	r, _, err := loadRecipeArgs(ctx, fs, args)
	if r == nil {
		return reportDiagnostics(err, stderr)
	}
	y, yerr := r.YAML(*origins)
	if yerr != nil {
		return yerr
	}
	if _, werr := stdout.Write(y); werr != nil {
		return werr
	}
	return reportDiagnostics(err, stderr)
}

func recipeExpand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, children, err := expandRecipeArgs(ctx, newFlags("recipe expand", stderr), args, stderr)
	if err != nil {
		return err
	}
	for i, c := range children {
		printChild(stdout, i, c)
		for _, e := range c.Recipe.Evaluate {
			cells := e.Grid()
			fmt.Fprintf(stdout, "  evaluate %s (%s): %d cell(s)\n", e.Name, e.Protocol, len(cells))
			for _, cell := range cells {
				fmt.Fprintf(stdout, "    %s\n", cell.Label())
			}
		}
	}
	return nil
}

// printChild writes the line of child i of a sweep that recipe expand and
// run --dry-run list: its number from 1 and its label.
func printChild(w io.Writer, i int, c recipe.Child) {
	label := c.Label
	if label == "" {
		label = "(no sweep)"
	}
	fmt.Fprintf(w, "run %d: %s\n", i+1, label)
}

func recipeDocs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recipe docs", stderr)
	out := fs.String("o", filepath.Join("docs", "recipes.md"), "output file (- for stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	doc := recipe.Markdown()
	if *out == "-" {
		_, err := io.WriteString(stdout, doc)
		return err
	}
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write recipe reference: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/mlflow"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/core/runs"
)

func init() {
	register(&command{Name: "runs list", Usage: "[--runs DIR] [--experiment E] [--status S] [--parent ID] [--params P,...] [--metrics P,...] [--sort [-]COLUMN]",
		Short:   "list runs, newest first, with the params that differ and headline metrics as columns (choose them with --params and --metrics: names, globs or substrings)",
		Example: "runs list --experiment demo\nruns list --params train.batch_size,loss.config.tau --metrics 'val/loss,linear/*/auc' --sort -convirt/f0.01/auc", Run: runsList})
	register(&command{Name: "runs show", Usage: "[--runs DIR] [--filter P,...] [--all] [--json] ID...", Short: "print a run: metadata, files, params, tags and headline metrics (--json: every final metric, one JSON line per run)",
		Example: "runs show 1a2b3c4d\nruns show --filter 'auc:*' 1a2b3c4d", Run: runsShow})
	register(&command{Name: "runs compare", Usage: "[--runs DIR] [--filter P,...] [--all] ID ID...", Short: "compare runs: params that differ, headline metrics side by side with changes against the first run",
		Example: "runs compare 1a2b3c4d 5e6f7a8b\nruns compare --filter 'p_at_*' 1a2b3c4d 5e6f7a8b", Run: runsCompare})
	register(&command{Name: "runs rm", Usage: "[--runs DIR] [--force] ID...", Short: "delete runs from the store (a running run only with --force)",
		Example: "runs rm 1a2b3c4d 5e6f7a8b", Run: runsRm})
	register(&command{Name: "runs push", Usage: "[--runs DIR] [--experiment E] [--force] [--allow-text] RUN_DIR|ID",
		Short: "upload a finished local run to MLflow (MLFLOW_TRACKING_URI)", Example: "runs push runs/demo/RUN_ID", Run: runsPush})
	register(&command{Name: "runs report", Usage: "[--runs DIR] ID", Short: "rebuild a run's loss plot and report.html",
		Example: "runs report 1a2b3c4d", Run: runsReport})
}

func runsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs list", stderr)
	exp := fs.String("experiment", "", "only runs of this experiment")
	status := fs.String("status", "", "only runs with this status: running, finished, failed or killed")
	parent := fs.String("parent", "", "only the child runs of this sweep's parent run `ID`")
	params := fs.String("params", "", "param columns: comma-separated `names, globs or substrings` (default: the params that differ)")
	metrics := fs.String("metrics", "", "metric columns, final values: comma-separated `names, globs or substrings` (default: headline metrics)")
	sort := fs.String("sort", "", "sort by `COLUMN` (start, name, status, duration, a param or metric column); -COLUMN descends (default: newest first)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	st, err := runs.ParseStatus(*status)
	if err != nil {
		return fmt.Errorf("%w: --status: %v", errUsage, err)
	}
	o := runs.ListOptions{Warn: func(err error) { fmt.Fprintf(stderr, "convirt: warning: %v\n", err) }}
	if o.Params, err = patternsFlag("params", *params); err == nil {
		o.Metrics, err = patternsFlag("metrics", *metrics)
	}
	if err != nil {
		return err
	}
	if *parent != "" {
		if *parent, err = runs.FindParent(*dir, *parent); err != nil {
			return fmt.Errorf("--parent: %w", err)
		}
	}
	ms, err := runs.List(*dir, runs.Filter{Experiment: *exp, ParentID: *parent, Status: st})
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintf(stdout, "no runs under %s\n", *dir)
		return nil
	}
	l, err := runs.NewListing(ms, o)
	if err != nil {
		return err
	}
	if *sort != "" {
		if err := l.Sort(*sort); err != nil {
			return fmt.Errorf("%w: --sort: %v", errUsage, err)
		}
	}
	return l.Write(stdout)
}

// patternsFlag parses the patterns of --name; nil when the flag is empty.
func patternsFlag(name, list string) (runs.Patterns, error) {
	ps, err := runs.ParsePatterns(list)
	if err != nil {
		return nil, fmt.Errorf("%w: --%s: %v", errUsage, name, err)
	}
	return ps, nil
}

// runStoreFlags returns the flag set of a command that reads the local run
// store, with its --runs flag (and --dir, its old name, with a warning).
func runStoreFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := newFlags(name, stderr)
	dir := fs.String("runs", "runs", "the run store: the `DIR` a recipe's output names")
	fs.Func("dir", "deprecated: the same as --runs", func(s string) error {
		fmt.Fprintf(stderr, "convirt: warning: --dir is deprecated, use --runs %s\n", s)
		*dir = s
		return nil
	})
	return fs, dir
}

// findRuns parses args (flags may follow run ids), checks that at least min
// run ids remain and finds each under dir, each once.
func findRuns(fs *flag.FlagSet, dir *string, args []string, min int) ([]runs.Meta, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) < min {
		return nil, fmt.Errorf("%w: need at least %d run id(s)", errUsage, min)
	}
	var out []runs.Meta
	for _, id := range pos {
		m, err := runs.Find(*dir, id)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(o runs.Meta) bool { return o.ID == m.ID }) {
			out = append(out, m)
		}
	}
	return out, nil
}

// metricFlags adds --filter and --all, the metric rows of show and compare,
// to fs, and returns what parses args: the runs under dir (findRuns, at
// least min of them) and the metric options.
func metricFlags(fs *flag.FlagSet, dir *string) func(args []string, min int) ([]runs.Meta, runs.CompareOptions, error) {
	filter := fs.String("filter", "", "metrics to show: comma-separated `names, globs or substrings` (default: headline metrics)")
	all := fs.Bool("all", false, "show every metric")
	return func(args []string, min int) ([]runs.Meta, runs.CompareOptions, error) {
		ms, err := findRuns(fs, dir, args, min)
		if err != nil {
			return nil, runs.CompareOptions{}, err
		}
		ps, err := patternsFlag("filter", *filter)
		return ms, runs.CompareOptions{Filter: ps, All: *all}, err
	}
}

func runsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs show", stderr)
	find := metricFlags(fs, dir)
	asJSON := fs.Bool("json", false, "print each run as one line of JSON: meta, params, tags, every final metric, files")
	ms, o, err := find(args, 1)
	if err != nil {
		return err
	}
	for i, m := range ms {
		d, err := runs.ReadDetails(*dir, m)
		if err != nil {
			return err
		}
		if *asJSON {
			err = d.WriteJSON(stdout)
		} else {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			err = d.WriteText(stdout, o)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func runsCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs compare", stderr)
	ms, o, err := metricFlags(fs, dir)(args, 2)
	if err != nil {
		return err
	}
	c, err := runs.Compare(ms)
	if err != nil {
		return err
	}
	return c.WriteText(stdout, o)
}

func runsRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs rm", stderr)
	force := fs.Bool("force", false, "remove a run although its status is running (its process is gone)")
	ms, err := findRuns(fs, dir, args, 1) // every id is found before anything is removed
	if err != nil {
		return err
	}
	for _, m := range ms {
		gone, err := runs.Remove(m, *force)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", gone)
		if kids, _ := runs.Children(*dir, m.ID); len(kids) > 0 {
			fmt.Fprintf(stdout, "  its child runs remain (%d): convirt runs list --parent %s\n", len(kids), m.ID)
		}
	}
	return nil
}
func runsPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs push", stderr)
	exp := fs.String("experiment", "", "MLflow experiment (default: the run's experiment)")
	force := fs.Bool("force", false, "push again although the run was already recorded in MLflow")
	allowText := fs.Bool("allow-text", false, "send params/tags marked as patient text (text:...) verbatim")
	ms, err := findRuns(fs, dir, args, 1)
	if err != nil {
		return err
	}
	cfg := mlflow.ConfigFromEnv()
	if cfg.URI == "" {
		return fmt.Errorf("%w: set MLFLOW_TRACKING_URI to the MLflow server", errUsage)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := mlflow.New(cfg)
	if err != nil {
		return err
	}
	for _, m := range ms {
		info, err := mlflow.Push(ctx, m.Dir, c, mlflow.PushOptions{Experiment: *exp, AllowText: *allowText, Force: *force})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pushed %s as MLflow run %s (experiment %s) to %s\n", m.Dir, info.RunID, info.ExperimentID, c.URI())
	}
	return nil
}

func runsReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs report", stderr)
	ms, err := findRuns(fs, dir, args, 1)
	if err != nil {
		return err
	}
	for _, m := range ms {
		// The run's own recipe says what its report shows (its inits, the
		// paper's figures); a run without one gets the plain report.
		opt := report.Options{}
		if r, err := recipe.LoadRunContext(ctx, m.Dir, recipe.Options{}); err == nil {
			opt = experiment.ReportOptions(r)
		} else {
			fmt.Fprintf(stderr, "warning: %s: %v; the report shows the run's results only\n", m.Dir, err)
		}
		p, err := report.Build(m.Dir, opt)
		if err != nil {
			return err
		}
		if err := report.WriteHTML(m.Dir, p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s/report.html\n", m.Dir)
	}
	return nil
}

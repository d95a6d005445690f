package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convirt/convirt/core/mlflow"
	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/core/runs"
)

func init() {
	register(&command{Name: "runs list", Usage: "[--dir runs] [--experiment E] [--parent ID]",
		Short: "list runs with status, duration and key metrics", Example: "runs list --experiment demo", Run: runsList})
	register(&command{Name: "runs show", Usage: "[--dir runs] ID", Short: "print a run's metadata, params and final metrics",
		Example: "runs show 1a2b3c4d", Run: runsShow})
	register(&command{Name: "runs compare", Usage: "[--dir runs] ID ID...", Short: "compare runs: differing params, metrics side by side",
		Example: "runs compare 1a2b3c4d 5e6f7a8b", Run: runsCompare})
	register(&command{Name: "runs push", Usage: "[--experiment E] [--force] [--allow-text] RUN_DIR",
		Short: "upload a finished local run to MLflow (MLFLOW_TRACKING_URI)", Example: "runs push runs/demo/RUN_ID", Run: runsPush})
	register(&command{Name: "runs report", Usage: "[--dir runs] ID", Short: "rebuild a run's loss plot and report.html",
		Example: "runs report 1a2b3c4d", Run: runsReport})
}

func runsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs list", stderr)
	exp := fs.String("experiment", "", "only runs of this experiment")
	parent := fs.String("parent", "", "only child runs of this parent run id")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	ms, err := runs.List(*dir, runs.Filter{Experiment: *exp, ParentID: *parent})
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintf(stdout, "no runs under %s\n", *dir)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEXPERIMENT\tSTATUS\tSTART\tDURATION\tMETRICS")
	for _, m := range ms {
		metrics, _ := runs.ReadMetrics(m.Dir)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID[:8], dash(m.Name), m.Experiment, m.Status,
			m.StartTime.Local().Format("2006-01-02 15:04"), m.Duration().Round(time.Second), keyMetrics(runs.Final(metrics), 3))
	}
	return tw.Flush()
}

// keyMetrics shows up to n final metrics, evaluation metrics (auc, acc,
// precision) before losses.
func keyMetrics(final map[string]runs.Metric, n int) string {
	keys := runs.KeyMetrics(final)
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, final[k].Value))
	}
	if len(keys) > n {
		parts = append(parts, fmt.Sprintf("(+%d)", len(keys)-n))
	}
	return dash(strings.Join(parts, " "))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runStoreFlags returns the flag set of a command that reads the local run
// store, with its --dir flag.
func runStoreFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := newFlags(name, stderr)
	return fs, fs.String("dir", "runs", "root of the local run store")
}

// findRuns parses args (flags may follow run ids), checks that at least min
// run ids remain and finds each under dir.
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
		out = append(out, m)
	}
	return out, nil
}

func runsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs show", stderr)
	ms, err := findRuns(fs, dir, args, 1)
	if err != nil {
		return err
	}
	for _, m := range ms {
		r, err := runs.Open(m.Dir)
		if err != nil {
			return err
		}
		metrics, err := runs.ReadMetrics(m.Dir)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
		row("id", m.ID)
		row("name", dash(m.Name))
		row("experiment", m.Experiment)
		row("status", string(m.Status))
		row("dir", m.Dir)
		row("parent", dash(m.ParentID))
		row("start", m.StartTime.Local().Format(time.RFC3339))
		row("duration", m.Duration().Round(time.Second).String())
		// convirt's own build, then the git state of the project the run
		// was started in (meta.json env.convirt and env.git_commit).
		convirt := "-" // a run from before convirt recorded its build
		if c := m.Env.Convirt; c.Version != "" {
			convirt = c.Version + " " + c.RevisionString()
		}
		row("convirt", convirt)
		git := dash(m.Env.GitCommit)
		if m.Env.GitDirty {
			git += " (dirty)"
		}
		row("project git", git)
		row("host", fmt.Sprintf("%s (%s, %s/%s, %s)", m.Env.Host, m.Env.User, m.Env.OS, m.Env.Arch, m.Env.GoVersion))
		for _, k := range slices.Sorted(maps.Keys(m.Env.Extra)) {
			row("env."+k, m.Env.Extra[k])
		}
		if kids, _ := runs.Children(*dir, m.ID); len(kids) > 0 {
			row("children", fmt.Sprint(len(kids)))
		}
		section(tw, "params", r.Params())
		section(tw, "tags", r.Tags())
		final := runs.Final(metrics)
		if len(final) > 0 {
			fmt.Fprintln(tw, "\nmetrics\tvalue\tstep")
			for _, k := range slices.Sorted(maps.Keys(final)) {
				fmt.Fprintf(tw, "  %s\t%.6g\t%d\n", k, final[k].Value, final[k].Step)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func section(tw io.Writer, title string, kv map[string]string) {
	if len(kv) == 0 {
		return
	}
	fmt.Fprintf(tw, "\n%s\t\n", title)
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, kv[k])
	}
}

func runsCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("runs compare", stderr)
	ms, err := findRuns(fs, dir, args, 2)
	if err != nil {
		return err
	}
	c, err := runs.Compare(ms)
	if err != nil {
		return err
	}
	header := "\t"
	for _, m := range ms {
		header += m.ID[:8] + "\t"
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "params that differ"+header)
	same := 0
	for _, k := range c.ParamKeys {
		if !c.ParamDiffers(k) {
			same++
			continue
		}
		line := "  " + k + "\t"
		for _, p := range c.Params {
			v, ok := p[k]
			if !ok {
				v = "-"
			}
			line += v + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	fmt.Fprintf(tw, "  (%d params equal)\t\n\nfinal metrics%s\n", same, header)
	for _, k := range c.MetricKeys {
		line := "  " + k + "\t"
		for _, f := range c.Finals {
			if m, ok := f[k]; ok {
				line += fmt.Sprintf("%.6g\t", m.Value)
			} else {
				line += "-\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func runsPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("runs push", stderr)
	exp := fs.String("experiment", "", "MLflow experiment (default: the run's experiment)")
	force := fs.Bool("force", false, "push again although the run was already recorded in MLflow")
	allowText := fs.Bool("allow-text", false, "send params/tags marked as patient text (text:...) verbatim")
	dir := fs.String("dir", "runs", "root of the local run store, to find RUN_DIR given as a run id")
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
		p, err := report.Build(m.Dir, report.Options{})
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

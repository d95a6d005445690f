package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/convirt/convirt/cmd/convirt/internal/needs"
	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
)

func init() {
	register(&command{
		Name:    "run",
		Usage:   "RECIPE [key.path=value]... [--set key.path=value]... [--dry-run] [--plugins DIR] [--max-recipe-bytes N] [--progress-every D] | --resume RUN_DIR | --restart RUN_DIR | --repeat RUN_DIR",
		Short:   "run a recipe: synthetic data, pretraining, evaluations, report",
		Example: "run recipes/demo.yaml train.max_steps=40 seed=1\nrun --resume runs/demo/RUN_ID",
		Run:     runRecipe,
	})
}

// newLauncher returns a launcher for built-ins and the plugins installed in
// dir ("" means the default plugin directory).
func newLauncher(dir string) (*launch.Launcher, error) {
	reg, err := pluginRegistry(dir)
	if err != nil {
		return nil, err
	}
	return &launch.Launcher{Registry: reg}, nil
}

func runRecipe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	dry := fs.Bool("dry-run", false, "validate, print the runs a sweep expands to, check what they need (data, weights, device, plugins, checkpoints, disk), then stop")
	resume := fs.String("resume", "", "continue the run in `RUN_DIR` from its newest checkpoint")
	repeat := fs.String("repeat", "", "run again the resolved recipe and overrides saved in `RUN_DIR`")
	restart := fs.String("restart", "", "start the unfinished run in `RUN_DIR` over from step 0, removing its checkpoints")
	every := fs.Duration("progress-every", progress.DefaultEvery, "when output is not a terminal, print a progress line this often (0: only each stage's summary)")
	f := addRecipeFlags(fs)
	pos, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	l, ro, err := f.open()
	if err != nil {
		return err
	}
	var r *recipe.Recipe
	switch {
	case *resume != "" || *repeat != "" || *restart != "":
		dir := *resume + *repeat + *restart // one of them, or more than one was given
		if len(pos) != 0 || len(f.sets) != 0 || (dir != *resume && dir != *repeat && dir != *restart) {
			return fmt.Errorf("%w: --resume, --restart and --repeat take a run directory and nothing else", errUsage)
		}
		r, err = recipe.LoadRunContext(ctx, dir, ro)
	case len(pos) == 1:
		r, err = recipe.LoadContext(ctx, pos[0], ro)
	default:
		return fmt.Errorf("%w: want one RECIPE file", errUsage)
	}
	if err != nil {
		return reportDiagnostics(err, stderr)
	}
	children, err := r.Expand(l.Schema)
	if err != nil {
		return reportDiagnostics(err, stderr)
	}
	if *dry {
		for i, c := range children {
			printChild(stdout, i, c)
		}
		return needs.Report(ctx, stderr, l.Registry, children)
	}
	opt := experiment.Options{Launcher: l, Out: stdout, Progress: stderr, Resume: *resume + *restart, Restart: *restart != "", Synth: synthCorpus(), ProgressEvery: cmp.Or(*every, -1),
		Command: f.continueCommand()}
	if len(children) == 1 && children[0].Label == "" {
		_, err := experiment.Run(ctx, children[0].Recipe, opt)
		return err
	}
	if opt.Resume != "" {
		return errors.New("--resume and --restart continue one run; resume each child of a sweep by its own directory")
	}
	return runSweep(ctx, r, children, opt)
}

// runSweep records a parent run and runs each child under it, in order.
func runSweep(ctx context.Context, r *recipe.Recipe, children []recipe.Child, opt experiment.Options) error {
	parent, err := runs.Create(r.Output, r.Experiment, runs.Options{Name: r.Name + " (sweep)", Tags: map[string]string{"sweep.children": fmt.Sprint(len(children))}})
	if err != nil {
		return err
	}
	if err := r.Save(parent.Dir()); err != nil {
		return errors.Join(err, parent.Finish(runs.Failed))
	}
	trackers := runs.Multi{parent}
	if t, err := experiment.TrackSweep(ctx, r, parent, opt.Progress); err != nil {
		fmt.Fprintf(opt.Progress, "warning: MLflow: %v\n", err)
	} else if t != nil {
		trackers = append(trackers, t)
	}
	fmt.Fprintf(opt.Out, "sweep %s: %d runs\n", parent.Dir(), len(children))
	var failed []error
	for i, c := range children {
		fmt.Fprintf(opt.Out, "\n== run %d/%d: %s\n", i+1, len(children), c.Label)
		o := opt
		o.ParentID, o.Label = parent.ID(), c.Label
		if _, err := experiment.Run(ctx, c.Recipe, o); err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", c.Label, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	status := runs.Finished
	if len(failed) > 0 {
		status = runs.Failed
	}
	if err := parent.Finish(status); err != nil {
		failed = append(failed, err)
	}
	for _, t := range trackers[1:] {
		if err := t.Finish(status); err != nil {
			fmt.Fprintf(opt.Progress, "warning: %v\nthe sweep is complete locally; record it with `convirt runs push %s`\n", err, parent.Dir())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("sweep %s: %d of %d runs failed: %w", parent.Dir(), len(failed), len(children), errors.Join(failed...))
	}
	return nil
}

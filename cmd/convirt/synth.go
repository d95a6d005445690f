package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/datasets/synth"
)

func init() {
	register(&command{
		Name:    "synth",
		Usage:   "--out DIR [--studies N] [--seed S] [--size PX]",
		Short:   "write the synthetic chest X-ray corpus in the real datasets' layouts",
		Example: "synth --out /tmp/synth --studies 500",
		Run:     runSynth,
	})
}

// synthCorpus is the synthetic corpus writer that `convirt run` hands
// core/experiment for a recipe's data.synth.
func synthCorpus() *experiment.SynthCorpus {
	return &experiment.SynthCorpus{Version: synth.CorpusVersion,
		Write: func(ctx context.Context, dir string, pairs, size int, seed int64, step func()) error {
			cfg := synth.DefaultConfig()
			cfg.Studies, cfg.Size, cfg.Seed = pairs, size, seed
			cfg.Progress = step
			return synth.Write(ctx, dir, cfg)
		},
		Items: func(pairs int, seed int64) int64 {
			cfg := synth.DefaultConfig()
			cfg.Studies, cfg.Seed = pairs, seed
			return int64(synth.Items(cfg))
		}}
}

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := synth.DefaultConfig()
	fs := newFlags("synth", stderr)
	out := fs.String("out", "", "output directory (required)")
	fs.IntVar(&c.Studies, "studies", c.Studies, "number of MIMIC-CXR studies; other datasets are sized from it")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "random seed; the corpus is a function of it")
	fs.IntVar(&c.Size, "size", c.Size, "image side in pixels")
	fs.IntVar(&c.Workers, "workers", 0, "rendering goroutines (0: all CPUs)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: --out is required and no positional arguments are taken", errUsage)
	}
	start := time.Now()
	bar := progress.NewWith(stderr, int64(synth.Items(c)), "synthetic images", progress.Options{Unit: "images"})
	c.Progress = func() { bar.Add(1) }
	err := synth.Write(ctx, *out, c)
	bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote synthetic corpus (%d studies, %d px, seed %d) to %s in %s\n",
		c.Studies, c.Size, c.Seed, *out, time.Since(start).Round(time.Millisecond))
	return nil
}

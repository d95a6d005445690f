// Command objectives summarises a sweep over pretraining objectives (the
// children of one sweep run, recipes/demo-objectives.yaml): for each child,
// its loss plugin and its linear probes' mean metric over seeds at each
// label fraction, written as one markdown table and one label-efficiency
// plot. `make demo-objectives` runs the sweep, then this.
//
//	objectives [-runs DIR] [-out DIR] [-experiment NAME] [SWEEP_ID]
//
// Without SWEEP_ID it summarises the newest finished sweep of the
// experiment.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("runs", "runs", "run store")
	out := flag.String("out", "", "directory for objectives.md and objectives.png (default: the sweep's directory)")
	exp := flag.String("experiment", "demo-objectives", "experiment of the sweep, when SWEEP_ID is not given")
	flag.Parse()
	if err := run(*root, *exp, flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "objectives:", err)
		os.Exit(1)
	}
}

func run(root, experiment, id, out string) error {
	parent, err := findSweep(root, experiment, id)
	if err != nil {
		return err
	}
	rows, err := collect(root, parent.ID)
	if err != nil {
		return err
	}
	if out == "" {
		out = parent.Dir
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	md := filepath.Join(out, "objectives.md")
	if err := os.WriteFile(md, []byte(table(rows)), 0o644); err != nil {
		return err
	}
	png := filepath.Join(out, "objectives.png")
	if err := plot(png, rows); err != nil {
		return err
	}
	fmt.Print(table(rows))
	fmt.Printf("\ntable: %s\nplot:  %s\n", md, png)
	return nil
}

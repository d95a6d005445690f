package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/prepare"
)

func init() {
	register(&command{
		Name:    "data inspect",
		Usage:   "--dataset NAME --root DIR [--split S] [--images] [--json]",
		Short:   "count a dataset's samples and labels and list every problem found",
		Example: "data inspect --dataset chexpert --root /tmp/synth/CheXpert-v1.0-small",
		Run:     runDataInspect,
	})
	register(&command{
		Name:    "data prepare",
		Usage:   "--dataset NAME --root DIR [--size 256] [--split S[,S...]] [--workers N] [--out DIR] [--json]",
		Short:   "write a resumable cache of a dataset's images resized for training (ROOT/.convirt-prepared/SIZE)",
		Example: "data prepare --dataset mimic-cxr --root $CONVIRT_DATA/MIMIC-CXR --size 256",
		Run:     runDataPrepare,
	})
}

// prepareBar draws a prepare's progress on w as a core/progress bar.
func prepareBar(w io.Writer) func(total int64, label string) prepare.Bar {
	return func(total int64, label string) prepare.Bar {
		return progress.NewWith(w, total, label, progress.Options{Unit: "images"})
	}
}

func runDataPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("data prepare", stderr)
	o := prepare.Options{Progress: prepareBar(stderr)}
	fs.StringVar(&o.Dataset, "dataset", "", "dataset name")
	fs.StringVar(&o.Root, "root", "", "dataset root directory")
	fs.IntVar(&o.Size, "size", prepare.DefaultSize, "short side of the prepared images in pixels (at least the image_size trained at)")
	split := fs.String("split", "", "comma-separated splits (default: every split of the dataset)")
	fs.IntVar(&o.Workers, "workers", 0, "converting goroutines (0: every core)")
	fs.StringVar(&o.Base, "out", "", "folder for the caches, one subfolder per size (default ROOT/"+prepare.DirName+"; elsewhere, give the dataset plugin prepared_dir)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Dataset == "" || o.Root == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: --dataset and --root are required, and no positional arguments are taken", errUsage)
	}
	if _, err := catalog.Lookup(o.Dataset); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if o.Size < 8 || o.Workers < 0 {
		return fmt.Errorf("%w: --size must be at least 8 and --workers not negative", errUsage)
	}
	if *split != "" {
		o.Splits = strings.Split(*split, ",")
	}
	res, err := prepare.Run(ctx, o)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted after converting %d images; run the same command again to resume (%s has no manifest, so nothing reads it yet)", res.Converted, res.Dir)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	rate := 0.0
	if res.Seconds > 0 {
		rate = float64(res.Converted) / res.Seconds
	}
	fmt.Fprintf(stdout, "prepared %s at %d px in %s: %d images, %d converted (%.1f images/s), %d already prepared, %d failed\n",
		o.Dataset, o.Size, res.Dir, res.Images, res.Converted, rate, res.Reused, len(res.Failed))
	for i, p := range res.Failed {
		if i == 20 {
			fmt.Fprintf(stdout, "  ... %d more (use --json for all)\n", len(res.Failed)-20)
			break
		}
		fmt.Fprintf(stdout, "  failed: %s\n", p.Error())
	}
	return nil
}

func runDataInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("data inspect", stderr)
	name := fs.String("dataset", "", "dataset name (see below)")
	root := fs.String("root", "", "dataset root directory")
	split := fs.String("split", "", "split (default: every split of the dataset)")
	images := fs.Bool("images", false, "decode every image (slower) to find unreadable ones")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || *root == "" {
		var names []string
		for _, d := range catalog.All() {
			names = append(names, d.Name)
		}
		return fmt.Errorf("%w: --dataset and --root are required (datasets: %v)", errUsage, names)
	}
	if _, err := os.ReadDir(*root); err != nil { // a missing root would inspect as empty
		return fmt.Errorf("dataset root: %w", err)
	}
	all, err := catalog.Inspect(ctx, *name, *root, *split, *images)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, all)
	}
	for _, in := range all {
		printInspection(stdout, in)
	}
	return nil
}

func printInspection(w io.Writer, in catalog.Inspection) {
	fmt.Fprintf(w, "%s split %q (%s): %d examples, %d problems\n", in.Dataset, in.Split, in.Task, in.Examples, len(in.Problems))
	names := make([]string, 0, len(in.Positives))
	for n := range in.Positives {
		names = append(names, n)
	}
	for n := range in.Ignored {
		if _, ok := in.Positives[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-28s positive %6d (%5.1f%%)  ignored %d\n", n, in.Positives[n],
			100*float64(in.Positives[n])/math.Max(1, float64(in.Examples)), in.Ignored[n])
	}
	for s, c := range in.Sizes {
		fmt.Fprintf(w, "  image size %s: %d\n", s, c)
	}
	for i, p := range in.Problems {
		if i == 50 {
			fmt.Fprintf(w, "  ... %d more problems (use --json for all)\n", len(in.Problems)-50)
			break
		}
		fmt.Fprintf(w, "  problem: %s\n", p.Error())
	}
}

// printJSON writes v to w as indented JSON (the --json output of the data
// commands).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/datasetplugin"
	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/prepare"
	"github.com/convirt/convirt/plugins/sdk"
)

// dataResult is bench data's JSON record; the top-level timing is through
// the dataset plugin process, one step being one batch.
type dataResult struct {
	Impl        string     `json:"impl"`
	Bench       string     `json:"bench"`
	Dataset     string     `json:"dataset"`
	Split       string     `json:"split"`
	Images      int        `json:"images"`
	Batch       int        `json:"batch"`
	Size        int        `json:"size"`
	Augment     bool       `json:"augment"`
	Workers     int        `json:"workers"`
	Steps       int        `json:"steps"`
	Warmup      int        `json:"warmup"`
	SecPerStep  float64    `json:"sec_per_step"`
	SecMedian   float64    `json:"sec_per_step_median"`
	ItemsPerSec float64    `json:"items_per_sec"`
	InProcess   *stepStats `json:"inprocess,omitempty"`
	Overhead    *float64   `json:"overhead,omitempty"`
	// DecodeSec is the time to decode one file (mean over up to 8, one
	// goroutine), and SourceSize the first one's width x height.
	DecodeSec  float64 `json:"decode_sec_per_image"`
	SourceSize string  `json:"source_size"`
	FileMB     float64 `json:"file_mb_mean,omitempty"`
	// Prepared is the plugins' prepared key; PreparedSize the size of the
	// cache they read (0: the originals), and PreparedDecodeSec the time
	// to decode one cached copy. PrepareSec and PrepareRate time --prepare.
	Prepared          string  `json:"prepared"`
	PreparedSize      int     `json:"prepared_size,omitempty"`
	PreparedDecodeSec float64 `json:"prepared_decode_sec_per_image,omitempty"`
	PrepareSec        float64 `json:"prepare_sec,omitempty"`
	PrepareRate       float64 `json:"prepare_images_per_sec,omitempty"`
}

func (bs *Bench) runBenchData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("bench data", stderr)
	name := fs.String("dataset", "mimic-cxr", "dataset plugin")
	root := fs.String("root", "", "dataset root")
	split := fs.String("split", "train", "split to read")
	size := fs.Int("size", 224, "output image side")
	aug := fs.Bool("augment", false, "ask for augmented batches (the paper's augmentations)")
	workers := fs.Int("workers", 0, "decoding goroutines of the dataset (0: every core)")
	batch := fs.Int("batch", 32, "images per batch")
	batches := fs.Int("batches", 5, "timed batches")
	warmup := fs.Int("warmup", 1, "untimed batches first")
	inproc := fs.Bool("inprocess", false, "also load each batch in this process, alternating with the plugin")
	fsz := fullSize{Quality: 95, Noise: 2, Seed: 1}
	fs.IntVar(&fsz.Studies, "synth", 0, "write this many MIMIC-CXR studies of full-size JPEGs and read them (--dataset mimic-cxr)")
	synthDir := fs.String("synth-dir", "", "where --synth writes (kept; reuse with --root DIR/MIMIC-CXR); default a temporary directory, removed")
	fs.IntVar(&fsz.Width, "synth-width", 2500, "width of the --synth JPEGs")
	fs.IntVar(&fsz.Height, "synth-height", 3000, "height of the --synth JPEGs")
	prepared := fs.String("prepared", datasetplugin.PreparedAuto, "the dataset plugins' prepared key: auto, off or required")
	doPrepare := fs.Bool("prepare", false, "prepare the split's images first (convirt data prepare), timed apart")
	prepSize := fs.Int("prepare-size", prepare.DefaultSize, "short side of the images --prepare writes")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch <= 0 || *batches <= 0 || *warmup < 0 || *workers < 0 || *size <= 0 || (*root == "") == (fsz.Studies == 0) {
		return fmt.Errorf("%w: give one of --root and --synth; batch, batches and size must be positive", cli.ErrUsage)
	}
	d, err := catalog.Lookup(*name)
	if err != nil {
		return fmt.Errorf("%w: %v", cli.ErrUsage, err)
	}
	res := dataResult{Impl: "go", Bench: "data", Dataset: *name, Split: *split, Batch: *batch, Size: *size, Augment: *aug,
		Workers: *workers, Steps: *batches, Warmup: *warmup, Prepared: *prepared}
	if fsz.Studies > 0 {
		if *name != "mimic-cxr" {
			return fmt.Errorf("%w: --synth writes the mimic-cxr layout only", cli.ErrUsage)
		}
		dir := *synthDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "convirt-bench-data-"); err != nil {
				return err
			}
			defer os.RemoveAll(dir)
		}
		t := time.Now()
		var n int
		var bytes int64
		if *root, n, bytes, err = writeFullSizeMIMIC(ctx, dir, fsz); err != nil {
			return err
		}
		res.FileMB = float64(bytes) / float64(n) / (1 << 20)
		fmt.Fprintf(stderr, "bench data: wrote %d JPEGs of %dx%d (%.2f MB each) under %s in %s\n",
			n, fsz.Width, fsz.Height, res.FileMB, *root, time.Since(t).Round(time.Millisecond))
	}
	if *doPrepare {
		if err := bs.benchPrepare(ctx, &res, *root, *split, *prepSize, stderr); err != nil {
			return err
		}
	}
	cfg := map[string]any{"root": *root, "image_size": *size, "workers": *workers, "prepared": *prepared}
	plug, err := (&launch.Launcher{Registry: bs.Registry()}).Dataset(ctx, *name, cfg)
	if err != nil {
		return err
	}
	defer plug.Close()
	local := datasetplugin.New(*name, d.Doc)
	if err := local.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("in-process dataset: %w", err)
	}
	info, err := plug.Describe(ctx, *split)
	if err != nil {
		return err
	}
	if info.Len == 0 {
		return fmt.Errorf("bench data: %s split %s is empty", *name, *split)
	}
	res.Images = info.Len
	if res.DecodeSec, res.SourceSize, err = decodeTime(*name, *root, *split, nil); err != nil {
		return err
	}
	if *prepared != datasetplugin.PreparedOff {
		if c, err := prepare.Open("", *root, *size); err == nil {
			res.PreparedSize = c.Size()
			res.PreparedDecodeSec, _, _ = decodeTime(*name, *root, *split, c) // 0 when the split was not prepared
		}
	}
	order := train.EpochOrder(info.Len, 1, 0)
	reqs := make([]sdk.BatchRequest, *warmup+*batches)
	for i := range reqs {
		idx := make([]int, *batch)
		for j := range idx {
			idx[j] = order[(i**batch+j)%len(order)]
		}
		reqs[i] = sdk.BatchRequest{Split: *split, Indices: idx, Augment: *aug, Seed: 1}
	}
	remote, local2 := bench.Steps{Warmup: *warmup}, bench.Steps{Warmup: *warmup}
	sides := []side[sdk.Dataset]{{plug, &remote}}
	if *inproc {
		sides = append(sides, side[sdk.Dataset]{local, &local2})
	}
	err = alternate(len(reqs), sides, func(i int, ds sdk.Dataset) error {
		if _, err := ds.Batch(ctx, reqs[i]); err != nil {
			return fmt.Errorf("bench data: batch %d: %w", i+1, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.SecPerStep, res.SecMedian = remote.Mean(), remote.Median()
	res.ItemsPerSec = bench.PerSec(*batch, res.SecPerStep)
	if *inproc {
		res.InProcess = newStepStats("inprocess", &local2, *batch)
		o := bench.Finite(bench.Overhead(res.SecPerStep, res.InProcess.SecPerStep))
		res.Overhead = &o
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s %s (%d images, source %s, %.0f ms to decode one): batch %d at %d px, augment %v, workers %d\n",
		res.Dataset, res.Split, res.Images, res.SourceSize, 1000*res.DecodeSec, res.Batch, res.Size, res.Augment, res.Workers)
	if res.PreparedSize > 0 {
		fmt.Fprintf(stdout, "  reading the prepared %d px copies (%.1f ms to decode one)\n", res.PreparedSize, 1000*res.PreparedDecodeSec)
	} else {
		fmt.Fprintf(stdout, "  reading the original images (prepared: %s)\n", res.Prepared)
	}
	fmt.Fprintf(stdout, "  plugin process: %.3f s/batch (median %.3f), %.1f images/s\n", res.SecPerStep, res.SecMedian, res.ItemsPerSec)
	if in := res.InProcess; in != nil {
		fmt.Fprintf(stdout, "  in-process:     %.3f s/batch (median %.3f), %.1f images/s; plugin overhead %+.1f%%\n",
			in.SecPerStep, in.SecPerStepMedian, in.ItemsPerSec, 100**res.Overhead)
	}
	return nil
}

// benchPrepare prepares the split's images at size, recording the time
// taken.
func (bs *Bench) benchPrepare(ctx context.Context, res *dataResult, root, split string, size int, stderr io.Writer) error {
	t := time.Now()
	pr, err := prepare.Run(ctx, prepare.Options{Dataset: res.Dataset, Root: root, Splits: []string{split}, Size: size, Workers: res.Workers, Progress: bs.PrepareProgress(stderr)})
	if err != nil {
		return fmt.Errorf("bench data: prepare: %w", err)
	}
	res.PrepareSec = time.Since(t).Seconds()
	res.PrepareRate = bench.PerSec(pr.Converted, pr.Seconds)
	fmt.Fprintf(stderr, "bench data: prepared %d images at %d px (%d converted, %.1f images/s) in %s\n",
		pr.Images, size, pr.Converted, res.PrepareRate, time.Duration(res.PrepareSec*float64(time.Second)).Round(time.Millisecond))
	return nil
}

// decodeTime decodes up to 8 of the split's image files (their prepared
// copies when cache is set) on one goroutine and returns the mean seconds
// per file and the first one's size.
func decodeTime(name, root, split string, cache *prepare.Cache) (float64, string, error) {
	src, err := catalog.Open(name, root, split)
	if err != nil {
		return 0, "", err
	}
	var total time.Duration
	var n int
	var dims string
	for i := 0; i < src.Len() && n < 8; i++ {
		ex, err := src.Example(i)
		if err != nil || ex.ImagePath == "" {
			continue
		}
		path := ex.ImagePath
		if cache != nil {
			if path = cache.Lookup(path); path == "" {
				continue
			}
		}
		t := time.Now()
		g, err := loader.DecodeFile(path)
		if err != nil {
			return 0, "", err
		}
		total += time.Since(t)
		if n == 0 {
			dims = fmt.Sprintf("%dx%d", g.W, g.H)
		}
		n++
	}
	if n == 0 {
		return 0, "", fmt.Errorf("bench data: no readable image in %s split %s", name, split)
	}
	return total.Seconds() / float64(n), dims, nil
}

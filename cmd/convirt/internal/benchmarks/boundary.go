package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// boundaryResult is bench boundary's JSON record; the top-level timing is
// the call through the plugin process.
type boundaryResult struct {
	Impl        string     `json:"impl"`
	Bench       string     `json:"bench"`
	Image       string     `json:"image"`
	Batch       int        `json:"batch"`
	Size        int        `json:"size"`
	Steps       int        `json:"steps"`
	Warmup      int        `json:"warmup"`
	Threads     int        `json:"threads"`
	Device      string     `json:"device"`
	Backward    bool       `json:"backward"`
	InputMB     float64    `json:"input_mb"`
	SecPerStep  float64    `json:"sec_per_step"`
	SecMedian   float64    `json:"sec_per_step_median"`
	ItemsPerSec float64    `json:"items_per_sec"`
	InProcess   *stepStats `json:"inprocess"`
	// Overhead is (plugin - in-process) / in-process on mean times;
	// OverheadMedian on medians; OverheadSec is the mean difference.
	Overhead       float64 `json:"overhead"`
	OverheadMedian float64 `json:"overhead_median"`
	OverheadSec    float64 `json:"overhead_sec"`
}

func (bs *Bench) runBenchBoundary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := imageOpts("bench boundary", stderr)
	fs.IntVar(&o.Batch, "batch", 32, "images per forward")
	fs.IntVar(&o.Size, "size", 224, "image side in pixels")
	fs.IntVar(&o.Steps, "steps", 5, "timed calls of each kind")
	fs.IntVar(&o.Warmup, "warmup", 1, "untimed calls of each kind first")
	fs.IntVar(&o.Threads, "threads", 0, "libtorch intra-op threads (plugin and this process); 0 keeps libtorch's default")
	fs.IntVar(&o.Seed, "seed", 1, "initialisation seed")
	backward := fs.Bool("backward", false, "time forward with a graph, backward of a fixed gradient and an Adam step instead of a bare forward")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || o.Batch <= 0 || o.Size <= 0 || o.Steps <= 0 || o.Warmup < 0 || o.Threads < 0 {
		return fmt.Errorf("%w: batch, size and steps must be positive, warmup and threads not negative", cli.ErrUsage)
	}
	if err := o.setImage(); err != nil {
		return err
	}
	cfg, _ := encoderConfigs(o)
	plug, err := (&launch.Launcher{Registry: bs.Registry()}).Encoder(ctx, o.imagePlugin, cfg)
	if err != nil {
		return err
	}
	defer plug.Close()
	local := image.New(o.imagePlugin)
	defer local.Close()
	if err := local.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("in-process encoder: %w", err)
	}
	batch, err := imageBatch(o)
	if err != nil {
		return err
	}
	grad, err := tensor.FromFloat32([]int64{int64(o.Batch), 512}, onesOver(o.Batch*512, float32(o.Batch)))
	if err != nil {
		return err
	}
	call := func(e sdk.Encoder) error {
		req := sdk.ForwardRequest{Batch: batch, Train: *backward, Graph: *backward}
		if _, err := e.Forward(ctx, req); err != nil {
			return fmt.Errorf("forward: %w", err)
		}
		if !*backward {
			return nil
		}
		if err := e.Backward(ctx, grad); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		return e.Step(ctx, sdk.StepRequest{})
	}
	remote, inproc := bench.Steps{Warmup: o.Warmup}, bench.Steps{Warmup: o.Warmup}
	err = alternate(o.Warmup+o.Steps, []side[sdk.Encoder]{{plug, &remote}, {local, &inproc}}, func(i int, e sdk.Encoder) error {
		if err := call(e); err != nil {
			return fmt.Errorf("bench boundary: call %d: %w", i+1, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	threads := o.Threads
	if threads == 0 {
		threads = torchrt.NumThreads()
	}
	r := boundaryResult{Impl: "gotch", Bench: "boundary", Image: o.Image, Batch: o.Batch, Size: o.Size, Steps: o.Steps,
		Warmup: o.Warmup, Threads: threads, Device: o.Device, Backward: *backward, InputMB: float64(len(batch.Images.Data)) / (1 << 20),
		SecPerStep: remote.Mean(), SecMedian: remote.Median()}
	r.ItemsPerSec = bench.PerSec(o.Batch, r.SecPerStep)
	r.InProcess = newStepStats("inprocess", &inproc, o.Batch)
	r.Overhead = bench.Finite(bench.Overhead(r.SecPerStep, r.InProcess.SecPerStep))
	r.OverheadMedian = bench.Finite(bench.Overhead(r.SecMedian, r.InProcess.SecPerStepMedian))
	r.OverheadSec = r.SecPerStep - r.InProcess.SecPerStep
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	what := "forward"
	if r.Backward {
		what = "forward+backward+step"
	}
	fmt.Fprintf(stdout, "%s %s, batch %d x %d px (%.1f MB in), %d threads\n", r.Image, what, r.Batch, r.Size, r.InputMB, r.Threads)
	fmt.Fprintf(stdout, "  plugin process: %.4f s (median %.4f)\n  in-process:     %.4f s (median %.4f)\n",
		r.SecPerStep, r.SecMedian, r.InProcess.SecPerStep, r.InProcess.SecPerStepMedian)
	fmt.Fprintf(stdout, "  boundary overhead: %+.2f%% (medians %+.2f%%), %+.1f ms per call\n", 100*r.Overhead, 100*r.OverheadMedian, 1000*r.OverheadSec)
	return nil
}

// onesOver is n values of 1/d.
func onesOver(n int, d float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1 / d
	}
	return v
}

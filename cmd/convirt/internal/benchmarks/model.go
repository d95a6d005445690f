package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/plugins/encoders/optim"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/models/bert"
	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/resnet"
	"github.com/convirt/convirt/plugins/models/smallcnn"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// benchResult is the JSON record printed by bench model; the PyTorch script
// in plugins/models/benchcompare prints the same fields.
type benchResult struct {
	Impl    string `json:"impl"`
	Arch    string `json:"arch"`
	Batch   int    `json:"batch"`
	Size    int    `json:"size,omitempty"`
	TextLen int    `json:"text_len,omitempty"`
	Steps   int    `json:"steps"`
	Warmup  int    `json:"warmup"`
	Threads int    `json:"threads"`
	// Precision is the autocast precision of the forward (fp32: none);
	// ChannelsLast is set when images were fed in channels-last layout.
	Precision    string  `json:"precision"`
	ChannelsLast bool    `json:"channels_last"`
	Params       int64   `json:"params"`
	SecPerStep   float64 `json:"sec_per_step"`
	SecMedian    float64 `json:"sec_per_step_median"`
	// CPUPerStep is the process's user+system CPU time per timed step: on a
	// shared machine it is steadier than wall time (with one thread it is
	// the same when nothing else runs).
	CPUPerStep  float64 `json:"cpu_sec_per_step"`
	ItemsPerSec float64 `json:"items_per_sec"`
	RSSStartMB  float64 `json:"rss_start_mb"`
	RSSEndMB    float64 `json:"rss_end_mb"`
	RSSPeakMB   float64 `json:"rss_peak_mb"`
	// AnonHugeMB is how much of the resident set is on transparent huge
	// pages at the end (package core/thp).
	AnonHugeMB float64 `json:"anon_huge_mb"`
	// GoHeapStartMB and GoHeapEndMB are the Go heap in use after a
	// collection, so that RSS growth can be told apart from C memory.
	GoHeapStartMB float64 `json:"go_heap_start_mb"`
	GoHeapEndMB   float64 `json:"go_heap_end_mb"`
	FirstLoss     float64 `json:"first_loss"`
	LastLoss      float64 `json:"last_loss"`
}

// benchModel is one forward pass from a fresh random batch to pooled features.
type benchModel func(train bool) (*ts.Tensor, error)

func runBenchModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("bench model", stderr)
	arch := fs.String("arch", "resnet50", "resnet50, resnet18, bert-base, bert-tiny, smallcnn or convirt (ResNet-50 + BERT-base ConVIRT step in one process)")
	size := fs.Int("size", 224, "image side in pixels (image models)")
	batch := fs.Int("batch", 8, "items per step")
	textLen := fs.Int("text-len", 128, "tokens per text (BERT)")
	steps := fs.Int("steps", 5, "timed steps")
	warmup := fs.Int("warmup", 1, "untimed steps first")
	threads := fs.Int("threads", 0, "libtorch intra-op threads (0: libtorch's default)")
	precision := fs.String("precision", autocast.FP32, "forward under autocast: fp32, bf16 or fp16 (CUDA only; refused here)")
	channelsLast := fs.Bool("channels-last", false, "feed images in channels-last layout (image models)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := autocast.Check(*precision, gotch.CPU); err != nil {
		return fmt.Errorf("%w: --precision: %v", cli.ErrUsage, err)
	}
	if fs.NArg() > 0 || *batch <= 0 || *steps <= 0 || *warmup < 0 || *size <= 0 || *textLen < 2 || *threads < 0 {
		return fmt.Errorf("%w: bad arguments", cli.ErrUsage)
	}
	if _, err := torchrt.KeepFreedMemory(); err != nil {
		return err
	}
	if *threads > 0 {
		if err := torchrt.SetNumThreads(*threads); err != nil {
			return err
		}
	}
	res := benchResult{Impl: "gotch", Arch: *arch, Batch: *batch, Steps: *steps, Warmup: *warmup, Threads: torchrt.NumThreads(),
		Precision: *precision, ChannelsLast: *channelsLast}
	var err error
	if *arch == "convirt" {
		err = benchConvirtModel(ctx, &res, *size, *textLen, *threads, *channelsLast)
	} else {
		err = torchrt.Pin(func() error {
			torchrt.ManualSeed(0)
			vs := nn.NewVarStore(gotch.CPU)
			model, err := buildBenchModel(vs, *arch, *batch, *size, *textLen, &res)
			if err != nil {
				return err
			}
			for _, v := range vs.TrainableVariables() {
				res.Params += int64(v.Numel())
			}
			// The encoders' own Adam (plugins/encoders/optim), as training
			// runs it; PyTorch's twin uses torch.optim.Adam.
			opt, err := optim.New(vs, optim.Config{Name: "adam", LR: 1e-4})
			if err != nil {
				return fmt.Errorf("adam: %w", err)
			}
			err = timeSteps(ctx, &res, func() (float64, error) { return benchStep(model, opt, *precision) })
			runtime.KeepAlive(vs)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("bench %s: %w", *arch, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	_, err = fmt.Fprintf(stdout, "%s batch %d: %.3f s/step (median %.3f, CPU %.3f), %.1f items/s, %d threads, RSS %.0f -> %.0f MB (peak %.0f), loss %.4g -> %.4g\n",
		res.Arch, res.Batch, res.SecPerStep, res.SecMedian, res.CPUPerStep, res.ItemsPerSec, res.Threads, res.RSSStartMB, res.RSSEndMB, res.RSSPeakMB, res.FirstLoss, res.LastLoss)
	return err
}

// timeSteps runs res.Warmup untimed and res.Steps timed calls of step,
// filling res's timing, loss and memory fields.
func timeSteps(ctx context.Context, res *benchResult, step func() (float64, error)) error {
	var start time.Time
	var cpu0 time.Duration
	timed := bench.Steps{Warmup: res.Warmup}
	for i := 0; i < res.Warmup+res.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == res.Warmup {
			res.GoHeapStartMB = goHeapMB()
			m, err := bench.ReadMem(0)
			if err != nil {
				return err
			}
			res.RSSStartMB = m.RSSMB
			start, cpu0 = time.Now(), processCPU()
		}
		t := time.Now()
		loss, err := step()
		timed.Add(time.Since(t))
		if err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if i == res.Warmup {
			res.FirstLoss = loss
		}
		res.LastLoss = loss
	}
	res.SecPerStep = time.Since(start).Seconds() / float64(res.Steps)
	res.CPUPerStep = (processCPU() - cpu0).Seconds() / float64(res.Steps)
	res.SecMedian = timed.Median()
	res.ItemsPerSec = float64(res.Batch) / res.SecPerStep
	res.GoHeapEndMB = goHeapMB()
	m, err := bench.ReadMem(0)
	if err != nil {
		return err
	}
	res.RSSEndMB, res.RSSPeakMB, res.AnonHugeMB = m.RSSMB, m.PeakMB, m.AnonHugeMB
	return nil
}

// goHeapMB collects garbage and returns the Go heap in use.
func goHeapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// benchStep runs forward (under autocast to precision), loss =
// mean(features^2) in fp32, backward and an Adam step, dropping every
// tensor it made. It runs on a pinned OS thread (autocast is per thread).
func benchStep(model benchModel, opt *optim.Optimizer, precision string) (float64, error) {
	exit, err := autocast.Enter(gotch.CPU, precision)
	if err != nil {
		return 0, err
	}
	f, err := model(true)
	exit()
	if err != nil {
		return 0, err
	}
	if f.DType() != gotch.Float {
		if f, err = f.Totype(gotch.Float, true); err != nil {
			return 0, err
		}
	}
	loss, err := f.Square(true)
	if err != nil {
		return 0, err
	}
	if loss, err = loss.Mean(gotch.Float, true); err != nil {
		return 0, err
	}
	defer loss.MustDrop()
	opt.ZeroGrad()
	if err := loss.Backward(); err != nil {
		return 0, fmt.Errorf("backward: %w", err)
	}
	if err := opt.Step(); err != nil {
		return 0, err
	}
	v, err := loss.Float64Value([]int64{})
	if err != nil {
		return 0, err
	}
	return v, nil
}

func buildBenchModel(vs *nn.VarStore, arch string, batch, size, textLen int, res *benchResult) (benchModel, error) {
	b, s := int64(batch), int64(size)
	image := func(in int64, fwd func(*ts.Tensor, bool) (*ts.Tensor, error)) benchModel {
		res.Size = size
		return func(train bool) (*ts.Tensor, error) {
			x, err := ts.Randn([]int64{b, in, s, s}, gotch.Float, gotch.CPU)
			if err != nil {
				return nil, err
			}
			if res.ChannelsLast {
				cl, err := layers.ChannelsLast(x)
				x.MustDrop()
				if err != nil {
					return nil, err
				}
				x = cl
			}
			defer x.MustDrop()
			return fwd(x, train)
		}
	}
	switch arch {
	case "resnet18", "resnet50":
		m, err := resnet.New(vs.Root(), resnet.Config{Arch: resnet.Arch(arch)})
		if err != nil {
			return nil, err
		}
		return image(3, m.Forward), nil
	case "smallcnn":
		m, err := smallcnn.New(vs.Root(), smallcnn.Config{InChannels: 1})
		if err != nil {
			return nil, err
		}
		return image(1, m.Forward), nil
	case "bert-base", "bert-tiny":
		cfg := bert.Base()
		if arch == "bert-tiny" {
			cfg = bert.Tiny(30522)
		}
		if int64(textLen) > cfg.MaxPositions {
			return nil, fmt.Errorf("%w: --text-len %d exceeds %d positions", cli.ErrUsage, textLen, cfg.MaxPositions)
		}
		m, err := bert.New(vs.Root(), cfg)
		if err != nil {
			return nil, err
		}
		res.TextLen = textLen
		shape := []int64{b, int64(textLen)}
		return func(train bool) (*ts.Tensor, error) {
			ids, err := ts.Randint(cfg.VocabSize, shape, gotch.Int64, gotch.CPU)
			if err != nil {
				return nil, err
			}
			defer ids.MustDrop()
			mask, err := ts.Ones(shape, gotch.Int64, gotch.CPU)
			if err != nil {
				return nil, err
			}
			defer mask.MustDrop()
			return m.Forward(ids, mask, train)
		}, nil
	}
	return nil, fmt.Errorf("%w: unknown --arch %q", cli.ErrUsage, arch)
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

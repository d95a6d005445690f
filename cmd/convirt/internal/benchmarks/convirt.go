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
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/train"
)

// convirtOpts are the flags of bench convirt.
type convirtOpts struct {
	Image, Text, Device, Ref            string
	Batch, Size, TextLen, Steps, Warmup int
	Threads, GradCache, RSSEvery, Seed  int
	TextLenMin, LengthBuckets           int
	ImageThreads, TextThreads           int
	WeightDecay                         float64
	InProcess, JSON, Verbose            bool
	Sequential                          bool
	imageChannels                       int
	imagePlugin, imageArch, vocabPath   string
	textFrozen, textMaxWords            int
}

// stepStats is the timing of one way of running the step.
type stepStats struct {
	Mode             string  `json:"mode"`
	SecPerStep       float64 `json:"sec_per_step"`
	SecPerStepMedian float64 `json:"sec_per_step_median"`
	ItemsPerSec      float64 `json:"items_per_sec"`
	LastLoss         float64 `json:"last_loss,omitempty"`
	// UsagePerStep is the CPU time and page faults of all processes in
	// one step, averaged over the timed steps.
	UsagePerStep bench.Usage `json:"usage_per_step"`
}

// convirtResult is bench convirt's JSON record. The top-level timing is the
// split step (plugin processes); InProcess, when asked for, is the same step
// in one process, timed in alternation with it.
type convirtResult struct {
	Impl           string  `json:"impl"`
	Bench          string  `json:"bench"`
	Image          string  `json:"image"`
	Text           string  `json:"text"`
	Batch          int     `json:"batch"`
	Size           int     `json:"size"`
	TextLen        int     `json:"text_len"`
	Steps          int     `json:"steps"`
	Warmup         int     `json:"warmup"`
	Threads        int     `json:"threads"`
	ImageThreads   int     `json:"image_threads,omitempty"`
	TextThreads    int     `json:"text_threads,omitempty"`
	Device         string  `json:"device"`
	GradCacheChunk int     `json:"gradcache_chunk"`
	TextLenMin     int     `json:"text_len_min,omitempty"`
	LengthBuckets  int     `json:"length_buckets,omitempty"`
	Sequential     bool    `json:"sequential_encoders,omitempty"`
	SecPerStep     float64 `json:"sec_per_step"`
	SecMedian      float64 `json:"sec_per_step_median"`
	ItemsPerSec    float64 `json:"items_per_sec"`
	FirstLoss      float64 `json:"first_loss"`
	LastLoss       float64 `json:"last_loss"`
	// UsagePerStep is the CPU time and page faults of the host and every
	// plugin process in one split step, averaged over the timed steps;
	// ProcsUsagePerStep the same for each process.
	UsagePerStep      bench.Usage       `json:"usage_per_step"`
	ProcsUsagePerStep []bench.ProcUsage `json:"procs_usage_per_step"`
	// Memory: the sum over host and plugin processes of VmHWM (peak) and
	// VmRSS (at the end), and each process at the end.
	RSSPeakTotalMB float64         `json:"rss_peak_total_mb"`
	RSSEndTotalMB  float64         `json:"rss_end_total_mb"`
	Procs          []bench.ProcMem `json:"procs"`
	// RSSIncludesInProcess is set when the host also held the in-process
	// reference, so its memory counts in the host's.
	RSSIncludesInProcess bool             `json:"rss_includes_inprocess,omitempty"`
	RSSSamples           []bench.Snapshot `json:"rss_samples,omitempty"`
	RSSGrowth            *float64         `json:"rss_growth,omitempty"`
	RSSGrowthFromStep    int              `json:"rss_growth_from_step,omitempty"`
	InProcess            *stepStats       `json:"inprocess,omitempty"`
	// SplitOverhead is (split - in-process) / in-process on mean step
	// times; SplitOverheadMedian on medians.
	SplitOverhead       *float64 `json:"split_overhead,omitempty"`
	SplitOverheadMedian *float64 `json:"split_overhead_median,omitempty"`
}

func parseConvirtOpts(args []string, stderr io.Writer) (*convirtOpts, error) {
	o := &convirtOpts{}
	fs := cli.NewFlags("bench convirt", stderr)
	fs.StringVar(&o.Image, "image", "resnet50", "image encoder: resnet50, resnet18 or smallcnn")
	fs.StringVar(&o.Text, "text", "base", "text encoder: base (BERT-base, embeddings and 6 layers frozen) or tiny (2 layers, 1 frozen)")
	fs.StringVar(&o.Device, "device", "cpu", "encoder device: cpu, cuda or cuda:N")
	fs.StringVar(&o.Ref, "ref", "", "in-process reference: graph (one autograd graph, torchenc.ReferenceStep) or loop (core/train's step, plugins in-process); default graph, loop with --gradcache")
	fs.IntVar(&o.Batch, "batch", 32, "pairs per step")
	fs.IntVar(&o.Size, "size", 224, "image side in pixels")
	fs.IntVar(&o.TextLen, "text-len", 32, "tokens per text, [CLS] and [SEP] included")
	fs.IntVar(&o.TextLenMin, "text-len-min", 0, "when set, each text's length is uniform in [text-len-min, text-len] tokens (0: all text-len)")
	fs.IntVar(&o.LengthBuckets, "length-buckets", 0, "sentence-length bucketing window in batches (the recipe's train.length_buckets; 0: off)")
	fs.IntVar(&o.Steps, "steps", 5, "timed steps")
	fs.IntVar(&o.Warmup, "warmup", 1, "untimed steps first")
	fs.IntVar(&o.Threads, "threads", 0, "libtorch intra-op threads of each encoder process (and of the in-process reference); 0 keeps libtorch's default")
	fs.IntVar(&o.ImageThreads, "image-threads", 0, "intra-op threads of the image encoder process only (0: --threads)")
	fs.IntVar(&o.TextThreads, "text-threads", 0, "intra-op threads of the text encoder process only (0: --threads)")
	fs.IntVar(&o.GradCache, "gradcache", 0, "GradCache chunk size; 0 is the plain step")
	fs.IntVar(&o.RSSEvery, "rss-every", 0, "print every process's RSS every N steps and report the growth from step N to the end")
	fs.IntVar(&o.Seed, "seed", 1, "initialisation and data seed")
	fs.Float64Var(&o.WeightDecay, "weight-decay", 1e-6, "Adam's L2 weight decay (the paper: 1e-6)")
	fs.BoolVar(&o.Sequential, "sequential", false, "run the two encoders one after the other, not at the same time (the recipe's train.sequential_encoders)")
	fs.BoolVar(&o.InProcess, "inprocess", false, "also time the same step in this process, alternating step by step, and report the split overhead")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object")
	fs.BoolVar(&o.Verbose, "v", false, "show plugin logs on stderr")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", cli.ErrUsage, err)
	}
	if fs.NArg() > 0 || o.Batch <= 0 || o.Size <= 0 || o.Steps <= 0 || o.Warmup < 0 || o.Threads < 0 || o.GradCache < 0 || o.RSSEvery < 0 || o.LengthBuckets < 0 ||
		o.ImageThreads < 0 || o.TextThreads < 0 {
		return nil, fmt.Errorf("%w: batch, size and steps must be positive; warmup, threads, gradcache, rss-every and length-buckets not negative", cli.ErrUsage)
	}
	if o.LengthBuckets > 1 && o.InProcess {
		return nil, fmt.Errorf("%w: --length-buckets and --inprocess: the in-process reference does not bucket; compare two runs instead", cli.ErrUsage)
	}
	if o.TextLenMin != 0 && (o.TextLenMin < 3 || o.TextLenMin > o.TextLen) {
		return nil, fmt.Errorf("%w: --text-len-min %d: want 3..--text-len (%d)", cli.ErrUsage, o.TextLenMin, o.TextLen)
	}
	switch o.Image {
	case "resnet50", "resnet18":
		o.imagePlugin, o.imageArch, o.imageChannels = "resnet", o.Image, 3
	case "smallcnn":
		o.imagePlugin, o.imageArch, o.imageChannels = "smallcnn", "smallcnn", 1
	default:
		return nil, fmt.Errorf("%w: --image %q: want resnet50, resnet18 or smallcnn", cli.ErrUsage, o.Image)
	}
	switch o.Text {
	case "base":
		o.textFrozen, o.textMaxWords = 6, 512
	case "tiny":
		o.textFrozen, o.textMaxWords = 1, 128
	default:
		return nil, fmt.Errorf("%w: --text %q: want base or tiny", cli.ErrUsage, o.Text)
	}
	if o.TextLen < 3 || o.TextLen > o.textMaxWords {
		return nil, fmt.Errorf("%w: --text-len %d: want 3..%d for --text %s", cli.ErrUsage, o.TextLen, o.textMaxWords, o.Text)
	}
	switch {
	case o.Ref == "" && o.GradCache > 0:
		o.Ref = "loop"
	case o.Ref == "":
		o.Ref = "graph"
	case o.Ref == "graph" && o.GradCache > 0:
		return nil, fmt.Errorf("%w: --ref graph has no GradCache form; use --ref loop", cli.ErrUsage)
	case o.Ref != "graph" && o.Ref != "loop":
		return nil, fmt.Errorf("%w: --ref %q: want graph or loop", cli.ErrUsage, o.Ref)
	}
	return o, nil
}

func (bs *Bench) runBenchConvirt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseConvirtOpts(args, stderr)
	if err != nil {
		return err
	}
	data, cleanup, err := benchData(o)
	if err != nil {
		return err
	}
	defer cleanup()
	l := &launch.Launcher{Registry: bs.Registry()}
	if o.Verbose {
		l.Log = stderr
	}
	parts, procs, closeAll, err := startSplit(ctx, l, o)
	defer closeAll()
	if err != nil {
		return err
	}
	parts.Data = data
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mon := &stepMonitor{o: o, procs: procs, log: stderr, cancel: cancel,
		split: bench.Steps{Warmup: o.Warmup}, inproc: bench.Steps{Warmup: o.Warmup}}
	if !o.JSON {
		mon.log = stdout
	}
	if o.InProcess {
		ref, err := newInProcessRef(ctx, o, data.View())
		if err != nil {
			return err
		}
		defer ref.Close()
		mon.ref = ref
	}
	parts.Progress, parts.Recorder = mon, mon
	cfg := train.Config{BatchSize: o.Batch, MaxSteps: o.Warmup + o.Steps, Seed: int64(o.Seed), Prefetch: 1, GradCacheChunk: o.GradCache,
		LengthBuckets: o.LengthBuckets, SequentialEncoders: o.Sequential}
	if err := mon.sample(); err != nil {
		return err
	}
	mon.last = time.Now()
	_, err = train.Run(ctx, cfg, parts)
	if mon.err != nil {
		return fmt.Errorf("bench convirt: %w", mon.err)
	}
	if err != nil {
		return fmt.Errorf("bench convirt: %w", err)
	}
	res, err := mon.result()
	if err != nil {
		return err
	}
	if o.JSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printConvirt(stdout, res)
	return nil
}

// benchData writes the benchmark vocabulary into a temporary directory
// (o.vocabPath, read when the text encoder is configured) and makes the
// random batches; cleanup removes the directory.
func benchData(o *convirtOpts) (*bench.RandomPairs, func(), error) {
	dir, err := os.MkdirTemp("", "convirt-bench-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	words, err := writeBenchVocab(dir, o)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	data, err := benchPairs(o, words)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return data, cleanup, nil
}

// benchPairs makes the random batches of bench convirt and bench model
// --arch convirt: one batch served again and again, or with length
// bucketing 16 distinct ones, so that a window regroups different texts.
func benchPairs(o *convirtOpts, words []string) (*bench.RandomPairs, error) {
	c := bench.PairsConfig{Batch: o.Batch, Batches: 1, Channels: o.imageChannels, Size: o.Size,
		Words: words, Tokens: o.TextLen - 2, Seed: uint64(o.Seed)}
	if o.TextLenMin > 0 {
		c.MinTokens = o.TextLenMin - 2
	}
	if o.LengthBuckets > 1 {
		c.Batches = 16
	}
	return bench.NewRandomPairs(c)
}

// startSplit starts the image encoder, text encoder and loss plugins; the
// returned close stops every one that started.
func startSplit(ctx context.Context, l *launch.Launcher, o *convirtOpts) (train.Parts, []bench.Proc, func(), error) {
	var clients []host.Client
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	imgCfg, txtCfg := encoderConfigs(o)
	img, err := l.Encoder(ctx, o.imagePlugin, imgCfg)
	if err != nil {
		return train.Parts{}, nil, closeAll, err
	}
	clients = append(clients, img)
	txt, err := l.Encoder(ctx, "bert", txtCfg)
	if err != nil {
		return train.Parts{}, nil, closeAll, err
	}
	clients = append(clients, txt)
	loss, err := l.Loss(ctx, "convirt", map[string]any{"tau": 0.1, "lambda": 0.75})
	if err != nil {
		return train.Parts{}, nil, closeAll, err
	}
	clients = append(clients, loss)
	procs := []bench.Proc{{Name: "host"}, {Name: "image", PID: img.Process().PID()},
		{Name: "text", PID: txt.Process().PID()}, {Name: "loss", PID: loss.Process().PID()}}
	return train.Parts{Image: img, Text: txt, Loss: loss}, procs, closeAll, nil
}

// encoderConfigs are the plugin configs of both encoders: the paper's
// projection heads (512-d, hidden = feature size), Adam lr 1e-4 with the
// weight decay asked for (1e-6) and no schedule, BERT's embeddings and first layers frozen.
func encoderConfigs(o *convirtOpts) (img, txt map[string]any) {
	common := func() map[string]any {
		m := map[string]any{"device": o.Device, "seed": o.Seed, "proj_dim": 512, "optimizer": "adam", "lr": 1e-4, "weight_decay": o.WeightDecay, "schedule": "none"}
		if o.Threads > 0 {
			m["threads"] = o.Threads
		}
		return m
	}
	img, txt = common(), common()
	if o.ImageThreads > 0 {
		img["threads"] = o.ImageThreads
	}
	if o.TextThreads > 0 {
		txt["threads"] = o.TextThreads
	}
	img["arch"], img["in_channels"] = o.imageArch, o.imageChannels
	txt["vocab"], txt["size"], txt["max_len"] = o.vocabPath, o.Text, o.TextLen
	txt["freeze_embeddings"], txt["freeze_layers"] = true, o.textFrozen
	return img, txt
}

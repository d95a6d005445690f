package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/train"
)

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
	Precision      string  `json:"precision"`
	ChannelsLast   bool    `json:"channels_last"`
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

func (bs *Bench) runBenchConvirt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, data, cleanup, err := optsAndData(args, stderr)
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

// optsAndData parses and checks the flags of bench convirt and makes its
// data (see benchData); cleanup removes the data's directory.
func optsAndData(args []string, stderr io.Writer) (*convirtOpts, *bench.RandomPairs, func(), error) {
	o, err := parseConvirtOpts(args, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	data, cleanup, err := benchData(o)
	if err != nil {
		return nil, nil, nil, err
	}
	return o, data, cleanup, nil
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
func startSplit(ctx context.Context, l *launch.Launcher, o *convirtOpts) (train.Parts, []bench.Watched, func(), error) {
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
	procs := []bench.Watched{{Name: "host"}, {Name: "image", PID: img.Process().PID()},
		{Name: "text", PID: txt.Process().PID()}, {Name: "loss", PID: loss.Process().PID()}}
	return train.Parts{Image: img, Text: txt, Loss: loss}, procs, closeAll, nil
}

// encoderConfigs are the plugin configs of both encoders: the paper's
// projection heads (512-d, hidden = feature size), Adam lr 1e-4 with the
// weight decay asked for (1e-6) and no schedule, BERT's embeddings and first layers frozen.
func encoderConfigs(o *convirtOpts) (img, txt map[string]any) {
	common := func() map[string]any {
		m := map[string]any{"device": o.Device, "seed": o.Seed, "proj_dim": 512, "optimizer": "adam", "lr": 1e-4, "weight_decay": o.WeightDecay, "schedule": "none"}
		if o.Precision != "" {
			m["precision"] = o.Precision
		}
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
	if o.ChannelsLast {
		img["memory_format"] = "channels_last"
	}
	txt["vocab"], txt["size"], txt["max_len"] = o.vocabPath, o.Text, o.TextLen
	txt["freeze_embeddings"], txt["freeze_layers"] = true, o.textFrozen
	return img, txt
}

package benchmarks

import (
	"flag"
	"fmt"
	"io"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/plugins/sdk"
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
	Precision                           string
	ChannelsLast                        bool
	imageChannels                       int
	imagePlugin, imageArch, vocabPath   string
	textFrozen, textMaxWords            int
}

// parseConvirtOpts parses and checks the flags of bench convirt.
func parseConvirtOpts(args []string, stderr io.Writer) (*convirtOpts, error) {
	o := &convirtOpts{}
	fs := cli.NewFlags("bench convirt", stderr)
	o.imageFlags(fs)
	fs.StringVar(&o.Text, "text", "base", "text encoder: base (BERT-base, embeddings and 6 layers frozen) or tiny (2 layers, 1 frozen)")
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
	fs.StringVar(&o.Precision, "precision", "fp32", "both encoders' precision key: fp32, or autocast to bf16 or fp16 (CUDA only)")
	fs.BoolVar(&o.ChannelsLast, "channels-last", false, "the image encoder's memory_format: channels_last")
	fs.BoolVar(&o.Sequential, "sequential", false, "run the two encoders one after the other, not at the same time (the recipe's train.sequential_encoders)")
	fs.BoolVar(&o.InProcess, "inprocess", false, "also time the same step in this process, alternating step by step, and report the split overhead")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object")
	fs.BoolVar(&o.Verbose, "v", false, "show plugin logs on stderr")
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
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
	if err := o.setImage(); err != nil {
		return nil, err
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

// imageOpts starts the options and flags of a benchmark of the image
// encoder alone (bench boundary, bench distributed): the image flags, and
// the paper's weight decay.
func imageOpts(name string, stderr io.Writer) (*convirtOpts, *flag.FlagSet) {
	o := &convirtOpts{WeightDecay: 1e-6}
	fs := cli.NewFlags(name, stderr)
	o.imageFlags(fs)
	return o, fs
}

// imageBatch is a batch of o.Batch random images of the --image encoder's
// channels and o.Size pixels, from o.Seed, without texts.
func imageBatch(o *convirtOpts) (*sdk.Batch, error) {
	data, err := bench.NewRandomPairs(bench.PairsConfig{Batch: o.Batch, Channels: o.imageChannels, Size: o.Size, Words: []string{"x"}, Tokens: 1, Seed: uint64(o.Seed)})
	if err != nil {
		return nil, err
	}
	b := data.Next()
	return &sdk.Batch{IDs: b.IDs, Images: b.Images}, nil
}

// imageFlags adds the flags that choose the image encoder and its device,
// which bench convirt and bench boundary share.
func (o *convirtOpts) imageFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Image, "image", "resnet50", "image encoder: resnet50, resnet18 or smallcnn")
	fs.StringVar(&o.Device, "device", "cpu", "encoder device: cpu, cuda or cuda:N")
}

// setImage sets the plugin, architecture and channels of the --image
// encoder.
func (o *convirtOpts) setImage() error {
	switch o.Image {
	case "resnet50", "resnet18":
		o.imagePlugin, o.imageArch, o.imageChannels = "resnet", o.Image, 3
	case "smallcnn":
		o.imagePlugin, o.imageArch, o.imageChannels = "smallcnn", "smallcnn", 1
	default:
		return fmt.Errorf("%w: --image %q: want resnet50, resnet18 or smallcnn", cli.ErrUsage, o.Image)
	}
	return nil
}

// Package benchmarks is `convirt bench`: the drivers that time the models,
// the ConVIRT step through plugin processes beside the same step in one
// process, the process boundary, the data pipeline, and the comparison of
// benchmark records (docs/performance.md). The drivers time implementations
// themselves (gotch models, the built-in encoders, dataset readers and loss
// in this process), so they belong with the CLI, the one place that names
// implementations, and not in core; what they measure with (timings,
// process memory and CPU time, random batches, records) is core/bench.
package benchmarks

import (
	"io"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/plugins/datasets/prepare"
	"github.com/convirt/convirt/registry"
)

// Bench is what the drivers get from the CLI.
type Bench struct {
	// Registry returns a registry of the built-in plugins and how convirt
	// serves one; the split benchmarks start their plugin processes from it.
	Registry func() *registry.Registry
	// PrepareProgress is where `bench data --prepare` reports progress: the
	// bar of `convirt data prepare`.
	PrepareProgress func(w io.Writer) func(total int64, label string) prepare.Bar
}

// Commands returns the `convirt bench NAME` commands, for cmd/convirt's
// command table; Torch marks those that run libtorch in their own process
// (the CLI then restarts on huge pages, core/thp).
func (bs *Bench) Commands() []*cli.Command {
	return []*cli.Command{{
		Name:    "bench model",
		Usage:   "--arch resnet50|resnet18|bert-base|bert-tiny|smallcnn|convirt [--size 224] [--batch 8] [--text-len 128] [--steps 5] [--warmup 1] [--threads T] [--precision fp32|bf16|fp16] [--channels-last] [--json]",
		Short:   "time full training steps (forward, backward, Adam) of a model on random input",
		Example: "bench model --arch resnet50 --size 224 --batch 8 --steps 5 --json",
		Run:     runBenchModel,
		Torch:   true,
	}, {
		Name: "bench convirt",
		Usage: "[--image resnet50|resnet18|smallcnn] [--text base|tiny] [--batch 32] [--size 224] [--text-len 32] [--steps 5] [--warmup 1] " +
			"[--text-len-min N] [--length-buckets W] [--threads T] [--image-threads T] [--text-threads T] [--device cpu] [--precision fp32|bf16|fp16] [--channels-last] [--weight-decay 1e-6] [--gradcache CHUNK] [--inprocess] [--ref graph|loop] [--rss-every N] [--json]",
		Short:   "time the full ConVIRT step through encoder and loss plugin processes, beside the same step in one process",
		Example: "bench convirt --image resnet18 --text tiny --batch 16 --steps 5",
		Run:     bs.runBenchConvirt,
		Torch:   true,
	}, {
		Name:    "bench boundary",
		Usage:   "[--image resnet50|resnet18|smallcnn] [--batch 32] [--size 224] [--steps 5] [--warmup 1] [--threads T] [--device cpu] [--backward] [--json]",
		Short:   "time one image-encoder forward through a plugin process beside the same forward in this process",
		Example: "bench boundary --image smallcnn --batch 32 --backward",
		Run:     bs.runBenchBoundary,
		Torch:   true,
	}, {
		Name: "bench data",
		Usage: "--dataset NAME (--root DIR | --synth STUDIES [--synth-dir DIR] [--synth-width 2500] [--synth-height 3000]) " +
			"[--split train] [--size 224] [--augment] [--workers N] [--batch 32] [--batches 5] [--warmup 1] [--inprocess] " +
			"[--prepared auto|off|required] [--prepare [--prepare-size 256]] [--json]",
		Short:   "time batches of decoded, resized (and augmented) images through a dataset plugin, and in this process",
		Example: "bench data --dataset mimic-cxr --synth 200 --batches 5",
		Run:     bs.runBenchData,
	}, {
		Name:    "bench distributed",
		Usage:   "[--replicas 2] [--image resnet50|resnet18|smallcnn] [--batch 16] [--size 64] [--steps 5] [--warmup 1] [--bucket-mb 25] [--json]",
		Short:   "time data-parallel replicas of the image encoder (gradients summed by c10d's all-reduce) beside one, on the same global batch",
		Example: "bench distributed --replicas 2 --image smallcnn --batch 16 --json",
		Run:     bs.runBenchDistributed,
		Torch:   true,
	}, {
		Name:    "bench ratio",
		Usage:   "[--field sec_per_step[,items_per_sec,inprocess.sec_per_step=sec_per_step...]] [--reduce last|median|min] [--json] A.json B.json",
		Short:   "compare two benchmark JSON records (e.g. convirt vs PyTorch): A/B of each field",
		Example: "bench ratio --field sec_per_step convirt.json pytorch.json",
		Run:     runBenchRatio,
	}}
}

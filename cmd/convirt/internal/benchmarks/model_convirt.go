package benchmarks

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// benchConvirtModel times the whole ConVIRT step in one process and one
// autograd graph for bench model --arch convirt: ResNet-50 and BERT-base
// (embeddings and the first 6 layers frozen) with the paper's projection
// heads, ConVIRT's loss and both Adam steps — the step bench_torch.py
// --arch convirt times. bench convirt runs the same step split across
// plugin processes.
func benchConvirtModel(ctx context.Context, res *benchResult, size, textLen, threads int, channelsLast bool) error {
	o, data, cleanup, err := optsAndData([]string{"--image", "resnet50", "--text", "base", "--batch", strconv.Itoa(res.Batch),
		"--size", strconv.Itoa(size), "--text-len", strconv.Itoa(textLen), "--threads", strconv.Itoa(threads),
		"--ref", "graph", "--precision", res.Precision, "--channels-last=" + strconv.FormatBool(channelsLast)}, io.Discard)
	if err != nil {
		return err
	}
	defer cleanup()
	ref, err := newInProcessRef(ctx, o, data)
	if err != nil {
		return err
	}
	defer ref.Close()
	res.Size, res.TextLen = o.Size, o.TextLen
	res.Params = ref.img.Encoder().TrainableParams() + ref.txt.Encoder().TrainableParams()
	if err := timeSteps(ctx, res, func() (float64, error) { return ref.Step(ctx) }); err != nil {
		return fmt.Errorf("convirt step: %w", err)
	}
	return nil
}

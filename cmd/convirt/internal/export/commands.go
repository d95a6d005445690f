package export

import (
	"context"
	"fmt"
	"io"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/plugins/models/weights"
)

// Register adds `convirt export` and `convirt weights convert` to t.
func Register(t cli.Table) {
	t.Register(&cli.Command{Name: "export", Usage: "RUN_DIR [--checkpoint best|last|step-N] --out DIR",
		Short:   "write a run's pretrained encoders for PyTorch: torchvision- and Hugging Face-named .safetensors, the projection heads, a README (docs/weights.md)",
		Example: "export runs/demo/1a2b3c4d --out exported/demo\nexport runs/demo/1a2b3c4d --checkpoint last --out exported/demo-last", Run: runExport})
	t.Register(&cli.Command{Name: "weights convert", Usage: "IN OUT.safetensors",
		Short:   "convert a weights file (torch.save .pth or pytorch_model.bin, read by libtorch's unpickler without running pickled code; or .safetensors) to .safetensors",
		Example: "weights convert resnet50-0676ba61.pth weights/resnet50-imagenet.safetensors", Run: runConvert, Torch: true})
}

func runExport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("export", stderr)
	sel := fs.String("checkpoint", Best, "which weights: `best` (lowest validation loss), last, or step-N")
	out := fs.String("out", "", "the `DIR` to write (new or empty)")
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one RUN_DIR, got %d arguments", cli.ErrUsage, len(pos))
	}
	if *out == "" {
		return fmt.Errorf("%w: --out DIR is required", cli.ErrUsage)
	}
	res, err := Export(pos[0], *sel, *out)
	if err != nil {
		return err
	}
	ck := res.Checkpoint
	fmt.Fprintf(stdout, "exported the %s weights (step %d%s) of %s to %s:\n", ck.Used, ck.Step(), valLoss(ck), pos[0], res.Out)
	for _, f := range res.Files {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	if ck.Note != "" {
		fmt.Fprintf(stderr, "convirt: note: %s\n", ck.Note)
	}
	return nil
}

func runConvert(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("weights convert", stderr)
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want IN and OUT, got %d arguments", cli.ErrUsage, len(pos))
	}
	format, n, err := weights.Convert(pos[0], pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "converted %s (%s, %d tensors) to %s\n", pos[0], format, n, pos[1])
	return nil
}

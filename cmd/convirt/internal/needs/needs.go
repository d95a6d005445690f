// Package needs says what the built-in plugins need before a run, as
// core/preflight asks for it: the files and folders an encoder's config
// names (ImageNet weights, a Hugging Face BERT folder, a vocabulary), the
// files a dataset reader expects under its root (found by opening the
// reader's index, so the list cannot drift from the readers), where each
// dataset comes from, and whether libtorch can use the recipe's device. It
// names implementations, so it sits with the CLI.
package needs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/preflight"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/datasetplugin"
	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/text"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/models/weights"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/registry"
)

// Checks are core/preflight's checks for the built-in plugins and the
// plugins installed in reg.
func Checks(reg *registry.Registry) preflight.Checks {
	return preflight.Checks{
		Files:             Files,
		Dataset:           Dataset,
		DatasetFix:        DatasetFix,
		Device:            Device,
		Precision:         Precision,
		Registry:          reg,
		ResolveCheckpoint: experiment.ResolveCheckpoint,
	}
}

// Report checks what the runs of children need, with Checks(reg) (reg nil:
// plugins are not looked up), and prints every problem to w; the error
// counts them. No problem prints nothing.
func Report(ctx context.Context, w io.Writer, reg *registry.Registry, children []recipe.Child) error {
	return ReportChecks(ctx, w, Checks(reg), children)
}

// ReportChecks is Report with the checks c.
func ReportChecks(ctx context.Context, w io.Writer, c preflight.Checks, children []recipe.Child) error {
	rs := make([]*recipe.Recipe, len(children))
	for i, ch := range children {
		rs[i] = ch.Recipe
	}
	ps := preflight.Check(ctx, rs, c)
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	fmt.Fprintln(w, ps.Error())
	return fmt.Errorf("%d problem(s) before the run can start (listed above)", len(ps))
}

// weightsFix is what to do about missing ImageNet weights.
const weightsFix = "fetch torchvision's ImageNet ResNet-50 there, as published (.pth) or converted with convirt weights convert (README, \"Run it on your data\"; docs/weights.md), set CONVIRT_WEIGHTS to the folder that holds it, or remove the weights key to start from random weights"

// bertFix is what to do about a missing BERT folder or file.
const bertFix = "download emilyalsentzer/Bio_ClinicalBERT from Hugging Face into that folder (config.json, vocab.txt, pytorch_model.bin or model.safetensors; README, \"Run it on your data\"), or set CONVIRT_WEIGHTS to the folder that holds clinicalbert/"

// Files lists the files and folders a built-in encoder's config names.
func Files(plugin string, config map[string]any) []preflight.File {
	switch plugin {
	case image.ResNet, image.SmallCNN:
		c := image.DefaultConfig(plugin)
		if sdk.DecodeConfig(config, &c) != nil {
			return nil // the recipe's own validation reports a bad config
		}
		return []preflight.File{{Key: "weights", Path: c.Weights, Fix: weightsFix}}
	case text.Name:
		c := text.DefaultConfig()
		if sdk.DecodeConfig(config, &c) != nil {
			return nil
		}
		var out []preflight.File
		if c.Pretrained != "" {
			in := []string{"config.json"}
			if c.Vocab == "" {
				in = append(in, "vocab.txt")
			}
			if c.Weights == "" { // model.safetensors, or a pytorch_model.bin alone
				in = append(in, filepath.Base(weights.InDir(c.Pretrained)))
			}
			out = append(out, preflight.File{Key: "pretrained", Path: c.Pretrained, Dir: true, Contains: in, Fix: bertFix})
		}
		vocabFix := bertFix
		if c.Pretrained == "" {
			vocabFix = "write the vocabulary there (convirt synth writes vocab.txt for the synthetic corpus), or set pretrained to a Hugging Face BERT folder"
		}
		return append(out, preflight.File{Key: "vocab", Path: c.Vocab, Fix: vocabFix}, preflight.File{Key: "weights", Path: c.Weights, Fix: bertFix})
	}
	return nil
}

// Dataset opens every split of the built-in dataset's reader with the
// recipe's reader options, reading its index files as a run would (images
// are not decoded), and checks that the first image of each split exists.
// known is false for a dataset that is not built in.
func Dataset(ctx context.Context, plugin string, config map[string]any) (known bool, err error) {
	d, err := catalog.Lookup(plugin)
	if err != nil {
		return false, nil
	}
	root, _ := config["root"].(string)
	if root == "" {
		return true, errors.New("config key root is empty")
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return true, fmt.Errorf("folder %s does not exist", root)
	}
	opts := map[string]any{}
	for k, v := range config {
		opts[k] = v
	}
	for _, f := range datasetplugin.CommonFields() {
		delete(opts, f.Name)
	}
	var errs []string
	for _, split := range d.Splits {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		src, err := catalog.OpenOptions(plugin, root, split, opts)
		if err != nil {
			if msg := err.Error(); !slices.Contains(errs, msg) {
				errs = append(errs, msg)
			}
			continue
		}
		if src.Len() == 0 {
			continue
		}
		ex, err := src.Example(0)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("split %q, its first example: %v", split, err))
		case ex.ImagePath != "":
			if _, err := os.Stat(ex.ImagePath); err != nil {
				errs = append(errs, fmt.Sprintf("split %q lists %d images, and the first, %s, is missing (are the images downloaded, and under this root?)", split, src.Len(), ex.ImagePath))
			}
		}
	}
	if len(errs) > 0 {
		return true, errors.New(strings.Join(errs, "; "))
	}
	return true, nil
}

// sources says where each built-in dataset comes from and which folder of
// the data root ($CONVIRT_DATA) holds it (README, "Run it on your data").
var sources = map[string]string{
	"mimic-cxr":      "MIMIC-CXR-JPG 2.0.0 and the MIMIC-CXR reports (PhysioNet, credentialed access), in $CONVIRT_DATA/MIMIC-CXR",
	"chexpert":       "CheXpert-v1.0-small (Stanford AIMI, free registration), in $CONVIRT_DATA/CheXpert-v1.0-small",
	"chexpert-8x200": "CheXpert-v1.0-small (Stanford AIMI, free registration), in $CONVIRT_DATA/CheXpert-v1.0-small; root is $CONVIRT_DATA, the folder above it",
	"rsna":           "the RSNA Pneumonia Detection Challenge (Kaggle, accept the competition rules), in $CONVIRT_DATA/RSNA",
	"covidx":         "COVIDx (the COVID-Net project on GitHub, which scripts its assembly), in $CONVIRT_DATA/COVIDx",
	"mura":           "MURA v1.1 (Stanford AIMI, free registration), in $CONVIRT_DATA/MURA-v1.1",
	"paired":         "your own image-report pairs: a folder with pairs.csv (docs/datasets.md, paired)",
}

// DatasetFix says where a dataset comes from and where it goes.
func DatasetFix(plugin string) string {
	from, ok := sources[plugin]
	if !ok {
		return "point root at the dataset's folder (docs/datasets.md)"
	}
	return "get " + from + ", laid out as downloaded (README, \"Run it on your data\"; docs/datasets.md); set CONVIRT_DATA to the folder that holds the datasets, or set this root"
}

// Precision reports whether the torch encoders can run precision on device
// (autocast.Check: fp16 needs CUDA, bf16 a CPU with AVX-512 BF16 or AMX or
// a GPU of compute capability 8.0 or later).
func Precision(device, precision string) error {
	dev, err := torchenc.ParseDevice(device)
	if err != nil {
		return err
	}
	return autocast.Check(precision, dev)
}

// Device reports whether the model plugins can use device, as they parse
// it: CUDA must be compiled into libtorch and a GPU present.
func Device(device string) error {
	_, err := torchenc.ParseDevice(device)
	return err
}

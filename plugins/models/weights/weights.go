// Package weights reads pretrained weights in the formats labs have them
// in: .safetensors, and the state dicts torch.save writes (torchvision's
// .pth downloads, Hugging Face's pytorch_model.bin), read through
// libtorch's own unpickler (plugins/models/torchpickle), never by running
// pickled code. The format is told by the file's content, not its name.
package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/models/torchpickle"
	"github.com/sugarme/gotch/nn"
)

// Format is a weights file's format.
type Format string

// The formats Read tells apart.
const (
	Safetensors Format = "safetensors"
	TorchSave   Format = "torch.save"
)

// Fetch says what to do about a missing weights file: where the paper's
// starting points are published and that they are read as published.
const Fetch = "download the weights and name the file (paper: torchvision's ImageNet ResNet-50, " +
	"https://download.pytorch.org/models/resnet50-0676ba61.pth, and Bio_ClinicalBERT, " +
	"https://huggingface.co/emilyalsentzer/Bio_ClinicalBERT: config.json, vocab.txt and pytorch_model.bin or model.safetensors); " +
	".safetensors, .pth and pytorch_model.bin are read as they are, and `convirt weights convert IN OUT.safetensors` converts one once (docs/weights.md)"

// HFWeightFiles are the weights files of a Hugging Face model directory,
// in the order InDir prefers them.
var HFWeightFiles = []string{"model.safetensors", "pytorch_model.bin"}

// InDir names the weights file of the Hugging Face model directory dir:
// the first of HFWeightFiles there, or the first if there is none (so that
// the error names what is missing).
func InDir(dir string) string {
	for _, name := range HFWeightFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(dir, HFWeightFiles[0])
}

// Detect tells b's format from its first bytes.
func Detect(b []byte) (Format, error) {
	switch {
	case len(b) >= 9 && b[8] == '{' && binary.LittleEndian.Uint64(b) <= uint64(len(b)-8):
		return Safetensors, nil
	case torchpickle.IsArchive(b) || torchpickle.IsLegacy(b):
		return TorchSave, nil
	}
	return "", fmt.Errorf("neither a .safetensors file nor a torch.save state dict (.pth, pytorch_model.bin): it starts with %q", head(b))
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// Read reads the weights file at path in whichever format it is. A missing
// file is an error saying where to get one (Fetch).
func Read(path string) (*safetensors.File, Format, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("weights %s: no such file: %s", path, Fetch)
	}
	if err != nil {
		return nil, "", fmt.Errorf("weights: %w", err)
	}
	format, err := Detect(b)
	if err != nil {
		return nil, "", fmt.Errorf("weights %s: %w", path, err)
	}
	var f *safetensors.File
	if format == Safetensors {
		f, err = safetensors.Parse(b)
	} else {
		f, err = torchpickle.Parse(b)
	}
	if err != nil {
		return nil, "", fmt.Errorf("weights %s (%s): %w", path, format, err)
	}
	return f, format, nil
}

// Load copies the weights file at path, in any format Read reads, into the
// variables of vs as safetensors.LoadFile does.
func Load(vs *nn.VarStore, path string, opts safetensors.LoadOptions) error {
	f, _, err := Read(path)
	if err != nil {
		return err
	}
	return safetensors.LoadFile(vs, f, path, opts)
}

// Convert writes the weights file in as the .safetensors file out (written
// atomically: no half-written out), with the source's name and format in
// the metadata. It returns the format read and the tensor count.
func Convert(in, out string) (Format, int, error) {
	f, format, err := Read(in)
	if err != nil {
		return "", 0, err
	}
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	f.Metadata["convirt.converted_from"] = filepath.Base(in)
	f.Metadata["convirt.converted_format"] = string(format)
	if err := safetensors.WriteFile(out, f); err != nil {
		return "", 0, fmt.Errorf("convert %s: %w", in, err)
	}
	return format, len(f.Tensors), nil
}

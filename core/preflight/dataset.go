package preflight

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// dataset checks the files of the dataset ro names.
func (k *checker) dataset(ctx context.Context, ro role) {
	if k.c.Dataset == nil {
		return
	}
	if root, _ := ro.ref.Config["root"].(string); root != "" && k.synthesized(root) {
		return
	}
	known, err := k.c.Dataset(ctx, ro.ref.Plugin, ro.ref.Config)
	if !known || err == nil {
		return
	}
	fix := "point the dataset's root at its folder"
	if k.c.DatasetFix != nil {
		fix = k.c.DatasetFix(ro.ref.Plugin)
	}
	k.add(ro.where+".config.root", fmt.Sprintf("dataset %s: %v", ro.ref.Plugin, err), fix)
}

// synthesized reports whether path lies under the synthetic corpus the
// recipe writes before anything reads it (data.synth.root).
func (k *checker) synthesized(path string) bool {
	if k.r.Data.Synth == nil {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(k.r.Data.Synth.Root), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

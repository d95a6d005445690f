package preflight

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultMinFree is the free space a run folder needs by default, 1 GiB:
// room for the logs, predictions, plots and a few checkpoints of small
// models. The paper's ResNet-50 and BERT checkpoints, optimiser states
// included, take about 1.5 GB each (three are kept): a caller that knows
// the models sets MinFreeBytes.
const DefaultMinFree = 1 << 30

// disk checks the free space where the run folder will be made (the
// recipe's output, or the nearest folder above it that exists).
func (k *checker) disk() {
	need := k.c.MinFreeBytes
	if need == 0 {
		need = DefaultMinFree
	}
	free := k.c.FreeBytes
	if free == nil {
		free = statfsFree
	}
	dir := existingAncestor(k.r.Output)
	got, err := free(dir)
	if err != nil {
		k.add("output", fmt.Sprintf("free space of %s: %v", dir, err), "make the output folder reachable, or set output to another folder")
		return
	}
	if got < need {
		k.add("output", fmt.Sprintf("only %s free on the file system of %s; a run needs at least %s (checkpoints, predictions, plots)", bytesText(got), dir, bytesText(need)),
			"free space there, or set output to a folder on a larger disk (--set output=/big/disk/runs)")
	}
}

// existingAncestor is dir, or the nearest folder above it that exists.
func existingAncestor(dir string) string {
	if dir == "" {
		dir = "."
	}
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// bytesText is n in GiB or MiB.
func bytesText(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

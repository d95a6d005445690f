package preflight

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// checkpoints checks the pretraining weights each evaluation's init
// convirt uses: this run's pretraining, or the run directory or checkpoint
// file its checkpoint names.
func (k *checker) checkpoints() {
	for _, e := range k.r.Evaluate {
		if !slices.Contains(e.Inits, "convirt") {
			continue
		}
		where := "evaluate[" + e.Name + "].checkpoint"
		if e.Checkpoint == "" {
			if k.r.Data.Pretrain == nil {
				k.add(where, "init convirt needs pretrained weights, and the recipe neither pretrains (data.pretrain) nor names a checkpoint",
					"set checkpoint: latest:EXPERIMENT (the newest finished pretraining of that experiment) or a pretraining run's directory, or drop convirt from inits")
			}
			continue
		}
		path := e.Checkpoint
		if k.c.ResolveCheckpoint != nil {
			p, err := k.c.ResolveCheckpoint(k.r.Output, e.Checkpoint)
			if err != nil {
				k.add(where, err.Error(), "run that pretraining first, or set checkpoint (or the variable the recipe reads it from, such as CONVIRT_CHEST_RUN) to a pretraining run's directory")
				continue
			}
			path = p
		}
		if !holdsCheckpoint(path) {
			k.add(where, fmt.Sprintf("%s is neither a checkpoint file nor a run directory with checkpoints", path),
				"point checkpoint at a finished pretraining run's directory (convirt runs list), or use latest:EXPERIMENT")
		}
	}
}

// holdsCheckpoint reports whether path is a file, or a folder holding
// checkpoints (a run directory's checkpoints/ or the checkpoints folder
// itself).
func holdsCheckpoint(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		return true
	}
	for _, dir := range []string{filepath.Join(path, "checkpoints"), path} {
		if m, _ := filepath.Glob(filepath.Join(dir, "*.ckpt")); len(m) > 0 {
			return true
		}
	}
	return false
}

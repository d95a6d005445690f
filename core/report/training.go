package report

import (
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/core/runs"
)

// LRKey is the learning rate core/train logs per step.
const LRKey = "train/lr"

// Training plot files under plots/.
const (
	LossPlot = "loss.png"
	LRPlot   = "lr.png"
)

// seriesNames say in words what a training metric is.
var seriesNames = map[string]string{
	"train/loss": "training loss (per logged batch)",
	"val/loss":   "validation loss (held-out pairs)",
	LRKey:        "learning rate",
}

// isTrainingLoss reports whether key is a loss of pretraining (train/...
// or val/...), not an evaluation's.
func isTrainingLoss(key string) bool {
	return (strings.HasPrefix(key, "train/") || strings.HasPrefix(key, "val/")) && strings.Contains(key, "loss")
}

// LossFromRun draws the run's pretraining losses (train/ and val/ keys
// mentioning "loss") into plots/loss.png and, when core/train logged it,
// the learning rate (LRKey) into plots/lr.png; a run without them gets no
// plot.
func LossFromRun(runDir string) error {
	ms, err := runs.ReadMetrics(runDir)
	if err != nil {
		return err
	}
	var keys []string
	for _, k := range runs.Keys(ms) {
		if isTrainingLoss(k) {
			keys = append(keys, k)
		}
	}
	if s := named(MetricSeries(ms, keys...)); len(s) > 0 {
		ax := Axes{Title: "Pretraining loss", X: "training step", Y: "contrastive loss (InfoNCE, nats)"}
		if err := Loss(filepath.Join(runDir, runs.PlotsDir, LossPlot), s, ax); err != nil {
			return err
		}
	}
	if s := named(MetricSeries(ms, LRKey)); len(s) > 0 {
		ax := Axes{Title: "Learning rate", X: "training step", Y: "learning rate"}
		if err := Loss(filepath.Join(runDir, runs.PlotsDir, LRPlot), s, ax); err != nil {
			return err
		}
	}
	return nil
}

// named replaces metric keys by their words where seriesNames has them.
func named(ss []Series) []Series {
	for i := range ss {
		if n, ok := seriesNames[ss[i].Name]; ok {
			ss[i].Name = n + " (" + ss[i].Name + ")"
		}
	}
	return ss
}

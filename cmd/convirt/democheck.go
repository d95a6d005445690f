package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convirt/convirt/core/democheck"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/evaluators/linear"
)

func init() {
	register(&command{
		Name:    "demo check",
		Usage:   "[--runs DIR] [RUN_ID]",
		Short:   "check the demo's claims on its results.json and predictions (the newest demo run by default)",
		Example: "demo check",
		Run:     demoCheck,
	})
}

func demoCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := runStoreFlags("demo check", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: at most one RUN_ID", errUsage)
	}
	m, err := democheck.FindRun(*dir, append(pos, "")[0])
	if err != nil {
		return err
	}
	return democheck.Check(m, linearRule{}, stdout)
}

// linearRule is the linear evaluator's rule for degenerate probe scores,
// applied to the predictions a run wrote.
type linearRule struct{}

func (linearRule) CheckLabels(p *results.LabelPredictions) error {
	y := make([]float32, 0, len(p.Truth)*len(p.Labels))
	for _, row := range p.Truth {
		for _, v := range row {
			y = append(y, float32(v))
		}
	}
	test := linear.Split{Y: linear.Matrix{Rows: len(p.Truth), Cols: len(p.Labels), Data: y}, Names: p.Labels}
	return linear.CheckScores(linear.MultiLabel, p.Scores, test)
}

func (linearRule) CheckClasses(p *results.ClassPredictions) error {
	return linear.CheckScores(linear.MultiClass, p.Scores, linear.Split{})
}

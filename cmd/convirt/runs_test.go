package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/runs"
)

func TestRunsCommands(t *testing.T) {
	root := t.TempDir()
	var ids []string
	for i, lr := range []string{"0.1", "0.01"} {
		r, err := runs.Create(root, "probe", runs.Options{Name: "seed" + lr})
		if err != nil {
			t.Fatal(err)
		}
		r.LogParams(map[string]string{"lr": lr, "batch": "64"})
		for s := range 5 {
			r.LogMetric("train/loss", float64(5-s)+float64(i), int64(s))
		}
		r.LogMetric("val/auc", 0.8+0.1*float64(i), 4)
		r.Finish(runs.Finished)
		ids = append(ids, r.ID())
	}
	do := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("convirt %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	out := do("runs", "list", "--dir", root)
	if !strings.Contains(out, ids[0][:8]) || !strings.Contains(out, ids[1][:8]) || !strings.Contains(out, "val/auc=0.9") || !strings.Contains(out, "finished") {
		t.Errorf("list:\n%s", out)
	}
	out = do("runs", "show", ids[0][:8], "--dir", root)
	for _, want := range []string{ids[0], "lr", "0.1", "train/loss", "val/auc"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out = do("runs", "compare", "--dir", root, ids[0], ids[1])
	if !strings.Contains(out, "lr") || strings.Contains(out, "  batch") || !strings.Contains(out, "(1 params equal)") {
		t.Errorf("compare:\n%s", out)
	}
	do("runs", "report", "--dir", root, ids[1])
	if _, err := os.Stat(filepath.Join(root, "probe", ids[1], "report.html")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(root, "probe", ids[1], "plots", "loss.png")); err != nil {
		t.Error(err)
	}
	var errb bytes.Buffer
	t.Setenv("MLFLOW_TRACKING_URI", "")
	if code := run(context.Background(), []string{"runs", "push", "--dir", root, ids[0]}, &errb, &errb); code != 2 {
		t.Errorf("push without MLFLOW_TRACKING_URI: exit %d", code)
	}
}

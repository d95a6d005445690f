package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/mlflow"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

// A server that answers 503 to everything does not stop or fail the run:
// it finishes with its local results, and what MLflow should have received
// waits in the run directory's spool; `convirt runs push` records the run
// once the server is back.
func TestRunWithMLflowDown(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	srv := mlflowtest.NewServer(t)
	srv.SetInject(func(*http.Request) int { return http.StatusServiceUnavailable })
	dir, _, _, errs := runTracked(t, srv.URL)
	if srv.Injected() == 0 {
		t.Fatal("the run never tried the server")
	}
	if !strings.Contains(errs, filepath.Join(dir, mlflow.SpoolFile)) {
		t.Errorf("the output does not say where the records for MLflow wait:\n%s", errs)
	}
	if n := len(srv.Runs()); n != 0 {
		t.Fatalf("%d runs on a server that refused everything", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "results.json")); err != nil {
		t.Errorf("no local results: %v", err)
	}
	if m, err := runs.ReadMeta(dir); err != nil || m.Status != runs.Finished {
		t.Errorf("local status %q (%v)", m.Status, err)
	}
	if id := mlflow.RunIDOf(dir); id != "" {
		t.Errorf("records MLflow run %q that the server never created", id)
	}

	// The spool holds the params, the training and evaluation metrics and
	// the final status, in order.
	f, err := os.Open(filepath.Join(dir, mlflow.SpoolFile))
	if err != nil {
		t.Fatalf("nothing spooled: %v", err)
	}
	defer f.Close()
	var kinds []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var o struct {
			Kind   string `json:"kind"`
			Status string `json:"status"`
			Batch  struct {
				Metrics []struct{ Key string } `json:"metrics"`
				Params  []mlflowtest.KV        `json:"params"`
			} `json:"batch"`
		}
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("spool line %q: %v", sc.Text(), err)
		}
		kinds = append(kinds, o.Kind+o.Status)
		for _, m := range o.Batch.Metrics {
			seen[m.Key] = true
		}
		for _, p := range o.Batch.Params {
			seen["param:"+p.Key] = p.Value == "0.001" || seen["param:"+p.Key]
		}
	}
	if len(kinds) == 0 || kinds[len(kinds)-1] != "finish"+mlflow.StatusFinished {
		t.Errorf("spooled operations %v do not end with the final status", kinds)
	}
	for _, k := range []string{"param:train.lr", "train/loss", evalAUC} {
		if !seen[k] {
			t.Errorf("%s not spooled", k)
		}
	}

	// The server is back: push the run.
	srv.SetInject(nil)
	t.Setenv("MLFLOW_TRACKING_URI", srv.URL)
	code, out, errs := runCLI(t, "runs", "push", dir)
	if code != 0 {
		t.Fatalf("convirt runs push: exit %d\n%s\n%s", code, out, errs)
	}
	r := srv.OnlyRun(t)
	if r.Info.Status != mlflow.StatusFinished || r.Params["train.lr"] != "0.001" || len(r.Values(evalAUC)) != 1 || len(r.Steps("train/loss")) == 0 {
		t.Errorf("pushed run: %+v params %d metrics %v", r.Info, len(r.Params), r.MetricKeys())
	}
	if mlflow.RunIDOf(dir) != r.Info.RunID {
		t.Errorf("push did not record the MLflow run id")
	}
}

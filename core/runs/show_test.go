package runs

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestShow(t *testing.T) {
	ms := listingRuns(t)
	r, err := Open(ms[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	long := "[map[checkpoint: dataset:map[config:map[root:data/synth/CheXpert-v1.0-small] plugin:chexpert] evaluator:map[plugin:linear]]]"
	if err := r.LogParams(map[string]string{"evaluate": long, "tracking.mlflow.uri": ""}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"report.html": "<html></html>", "plots/loss.png": "png"} {
		if err := r.WriteFileAtomic(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ReadDetails("runs", ms[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		opts    CompareOptions
		want    []string
		wantNot []string
	}{
		{
			name: "headline",
			want: []string{
				"run          " + ms[0].ID, "name         tau0.1", "status       finished",
				"files in " + filepath.Join("runs", "sweep", ms[0].ID) + ":", "  report.html    13 B", "  checkpoints/   0 files, 0 B", "  tags.json ", "1 file, 3 B",
				"params (6):", "  loss.config.tau      0.1", "  tracking.mlflow.uri  \"\"\n",
				"  evaluate             [map[checkpoint: dataset:map[config:map[root:data/synth/Che… (124 characters; --json for all)",
				"headline metrics", "  val/loss  ", "2.5    1", "(3 more metrics: --filter PATTERN or --all)",
			},
			wantNot: []string{"evaluator:map[plugin:linear]]]", "test_examples", "map[string]"},
		},
		{
			name:    "filter",
			opts:    CompareOptions{Filter: mustPatterns(t, "test_examples")},
			want:    []string{"metrics matching test_examples", "/test_examples  237    1", "(6 more metrics"},
			wantNot: []string{"val/loss"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := d.WriteText(&b, c.opts); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(b.String(), w) {
					t.Errorf("has %q:\n%s", w, b.String())
				}
			}
		})
	}

	var b bytes.Buffer
	if err := d.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		ID       string            `json:"id"`
		Status   Status            `json:"status"`
		Dir      string            `json:"dir"`
		Params   map[string]string `json:"params"`
		Metrics  map[string]Metric `json:"metrics"`
		Headline []string          `json:"headline"`
		Files    []FileInfo        `json:"files"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || strings.Count(b.String(), "\n") != 1 {
		t.Fatalf("not one line of JSON: %v\n%s", err, b.String())
	}
	if back.ID != ms[0].ID || back.Status != Finished || back.Dir != ms[0].Dir || back.Params["evaluate"] != long || back.Params["tracking.mlflow.uri"] != "" ||
		back.Metrics[ValLossKey].Value != 2.5 || len(back.Metrics) != 7 || len(back.Headline) != 4 || len(back.Files) == 0 {
		t.Errorf("JSON: %+v", back)
	}
}

func mustPatterns(t *testing.T, s string) Patterns {
	t.Helper()
	p, err := ParsePatterns(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

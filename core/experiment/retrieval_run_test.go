package experiment

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// retrievalRun runs the retrieval protocol for one init through real
// plugin processes (the fakes above) and returns the recorded entries.
func retrievalRun(t *testing.T, init string, dataConfig map[string]any) ([]results.Entry, string, error) {
	t.Helper()
	return retrievalRunIn(t, t.TempDir(), init, dataConfig)
}

// retrievalRunIn is retrievalRun with its run under dir.
func retrievalRunIn(t *testing.T, dir, init string, dataConfig map[string]any) ([]results.Entry, string, error) {
	t.Helper()
	ctx := context.Background()
	logPath := filepath.Join(dir, "run.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	l := testLauncher()
	r := &recipe.Recipe{Output: dir, Seed: 1,
		ImageEncoder: recipe.PluginRef{Plugin: testRetrievalEncoder, Config: map[string]any{"weights": "imagenet.safetensors"}},
		TextEncoder:  &recipe.PluginRef{Plugin: testRetrievalEncoder, Config: map[string]any{}}}
	run, err := runs.Create(dir, "e", runs.Options{Name: "retrieval"})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{r: r, opt: Options{Launcher: l, Progress: io.Discard}, log: log, run: run, tracker: runs.Multi{run}}
	d, err := l.Dataset(ctx, testRetrievalData, dataConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ev := &rankEvaluator{}
	if err := ev.Configure(ctx, map[string]any{"ks": []any{1, 4}, "bootstrap": 20}); err != nil {
		t.Fatal(err)
	}
	trained, _ := json.Marshal(map[string]bool{"trained": true})
	er := &evalRun{s: s, e: recipe.Eval{Name: "retrieval", Protocol: "retrieval"}, ev: ev,
		data:  dataset{client: d, plugin: testRetrievalData, config: dataConfig},
		saved: map[string][]byte{"image": trained, "text": trained}}
	err = retrievalProtocol.run(ctx, er, init)
	b, _ := os.ReadFile(logPath)
	return er.out, string(b), err
}

// retrievalEntry finds the entry of protocol and metric, nil when there is none.
func retrievalEntry(es []results.Entry, protocol, metric string) *results.Entry {
	for i := range es {
		if es[i].Protocol == protocol && es[i].Metric == metric {
			return &es[i]
		}
	}
	return nil
}

// TestRetrievalRepresentationPerInit: image-image retrieval ranks by the
// encoder's pooled features for every init, so random and ImageNet
// encoders, whose projection heads are untrained (here: scrambling), are
// judged on what they learnt; text-image retrieval runs on the projections
// for init convirt only, whose two heads were trained together.
func TestRetrievalRepresentationPerInit(t *testing.T) {
	for _, init := range []string{"random", "imagenet", "convirt"} {
		t.Run(init, func(t *testing.T) {
			es, log, err := retrievalRun(t, init, map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"p@1", "p@4"} {
				e := retrievalEntry(es, "retrieval-image", m)
				if e == nil || math.Abs(e.Mean-1) > 1e-12 {
					t.Errorf("retrieval-image %s = %+v, want 1: every image is nearest its category in the pooled features", m, e)
				}
			}
			text := retrievalEntry(es, "retrieval-text", "p@4")
			if init == "convirt" {
				if text == nil || math.Abs(text.Mean-1) > 1e-12 {
					t.Errorf("retrieval-text p@4 = %+v, want 1: the trained heads share a space", text)
				}
				return
			}
			if text != nil {
				t.Errorf("init %s has a retrieval-text entry (%+v), but its projection heads were not trained together", init, *text)
			}
			if want := "no text-image retrieval for init " + init; !strings.Contains(log, want) {
				t.Errorf("run log lacks %q:\n%s", want, log)
			}
		})
	}
}

// TestRetrievalTextOnlyNeedsConvirt: a text-only retrieval set with an
// init whose heads were not trained together is an error saying so, not an
// evaluation that records nothing.
func TestRetrievalTextOnlyNeedsConvirt(t *testing.T) {
	_, _, err := retrievalRun(t, "random", map[string]any{"text_only": true})
	if err == nil || !strings.Contains(err.Error(), "text-image retrieval needs init convirt") {
		t.Fatalf("err = %v, want one saying text-image retrieval needs init convirt", err)
	}
	es, _, err := retrievalRun(t, "convirt", map[string]any{"text_only": true})
	if err != nil {
		t.Fatal(err)
	}
	if e := retrievalEntry(es, "retrieval-text", "p@1"); e == nil || e.Mean != 1 {
		t.Errorf("convirt on the text-only set: retrieval-text p@1 = %+v, want 1", e)
	}
}

// TestRetrievalTableSaysWhatItRanks: the retrieval table's title says which
// representation each protocol ranks by and that text-image is convirt's.
func TestRetrievalTableSaysWhatItRanks(t *testing.T) {
	es := []results.Entry{{Task: "t", Protocol: "retrieval-image", Init: "random", Fraction: 1, Metric: "p@5", Mean: 0.5}}
	md := resultTables(es, []string{"random"})
	if len(md) != 1 {
		t.Fatalf("tables %v", md)
	}
	for _, want := range []string{"pooled image features", "projections, init convirt only"} {
		if !strings.Contains(md[0].title, want) {
			t.Errorf("retrieval table title %q lacks %q", md[0].title, want)
		}
	}
}

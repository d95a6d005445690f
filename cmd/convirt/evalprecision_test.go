package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/sugarme/gotch"
)

// precisionEvals replaces the tiny recipe's evaluations: a linear probe
// and zero-shot classification, each in fp32 and again with
// evaluate[].precision bf16, on the same pretrained weights.
const precisionEvals = `evaluate:
  - name: probe
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: linear
    fractions: [1.0]
    seeds: 2
  - name: probe-bf16
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: linear
    fractions: [1.0]
    seeds: 2
    precision: bf16
  - name: zeroshot
    evaluator: {plugin: zeroshot}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: zeroshot
    prompts: &prompts
      Cardiomegaly: [the heart is enlarged, cardiomegaly]
      Pleural Effusion: [pleural effusion]
  - name: zeroshot-bf16
    evaluator: {plugin: zeroshot}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: zeroshot
    prompts: *prompts
    precision: bf16
`

// bf16AUCTol bounds, per protocol, how far an AUC of the tiny run's
// evaluations in bf16 may be from fp32's. Measured: linear 0.0003 (0.7342
// against 0.7345); zeroshot 0.016 (0.482 against 0.497: an AUC near chance
// on a small test split, where similarities nearly tied swap places). The
// issue's bound for the demo's linear probe is 0.02.
var bf16AUCTol = map[string]float64{"linear": 0.02, "zeroshot": 0.03}

// TestEvalPrecisionEndToEnd pretrains the tiny recipe and evaluates its
// encoders in fp32 and with evaluate[].precision bf16: the run log says
// the encoders were configured in bf16, the bf16 predictions differ from
// fp32's (the evaluation ran in bf16, not from fp32's cached features),
// and every AUC, per seed, is within bf16AUCTol of fp32's (about 20 s).
func TestEvalPrecisionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every plugin process and trains")
	}
	if err := autocast.Check(autocast.BF16, gotch.CPU); err != nil {
		t.Skipf("this CPU cannot run bf16: %v", err)
	}
	path, runsDir := writeTiny(t, func(y string) string {
		head, _, _ := strings.Cut(y, "evaluate:\n")
		data := regexp.MustCompile(`synth: \{root: ([^,]+),`).FindStringSubmatch(head)[1]
		return head + strings.ReplaceAll(precisionEvals, "DATA", data)
	})
	dir, _, _ := runOnly(t, runsDir, "run", path)
	log, err := os.ReadFile(filepath.Join(dir, "logs", "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"evaluate probe-bf16: image_encoder configured with eval_precision bf16", "evaluate zeroshot-bf16: text_encoder configured with eval_precision bf16"} {
		if !bytes.Contains(log, []byte(line)) {
			t.Errorf("run.log lacks %q", line)
		}
	}
	a, errA := os.ReadFile(filepath.Join(dir, "predictions", "probe", "linear", "convirt", "f1", "seed-0.csv"))
	b, errB := os.ReadFile(filepath.Join(dir, "predictions", "probe-bf16", "linear", "convirt", "f1", "seed-0.csv"))
	if errA != nil || errB != nil || bytes.Equal(a, b) {
		t.Errorf("the fp32 and bf16 probes' predictions are equal or missing (%v, %v)", errA, errB)
	}
	// results.json lists the evaluations in recipe order, each fp32 one's
	// entries followed by its bf16 twin's, cell for cell.
	f := readResults(t, dir)
	byProtocol := map[string][]results.Entry{}
	for _, e := range f.Entries {
		if e.Metric == "auc" {
			byProtocol[e.Protocol] = append(byProtocol[e.Protocol], e)
		}
	}
	for _, p := range []string{"linear", "zeroshot"} {
		es := byProtocol[p]
		if len(es) != 2 {
			t.Fatalf("%s: %d auc entries, want one per precision", p, len(es))
		}
		fp32, bf16 := es[0], es[1]
		for i := range fp32.Values {
			d := math.Abs(bf16.Values[i] - fp32.Values[i])
			t.Logf("%s seed %d: AUC fp32 %.4f, bf16 %.4f", p, fp32.Seeds[i], fp32.Values[i], bf16.Values[i])
			if d > bf16AUCTol[p] {
				t.Errorf("%s seed %d: AUC bf16 %.4f, fp32 %.4f: %.4f apart, want at most %g", p, fp32.Seeds[i], bf16.Values[i], fp32.Values[i], d, bf16AUCTol[p])
			}
		}
	}
}

package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/features"
	"github.com/convirt/convirt/core/finetune"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// fakeData serves rows of features as 1x1xD "images" with one binary label.
type fakeData map[string][][]float32

func (d fakeData) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	rows := d[req.Split]
	dim := len(rows[0]) - 1
	b := &sdk.Batch{LabelNames: []string{"finding"}}
	var x, y []float32
	for _, i := range req.Indices {
		x, y = append(x, rows[i][:dim]...), append(y, rows[i][dim])
		b.IDs = append(b.IDs, fmt.Sprintf("%s-%d", req.Split, i))
	}
	n := int64(len(req.Indices))
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{n, 1, 1, int64(dim)}, x); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{n, 1}, y)
	return b, err
}

// separable draws n rows of 4 features and a label, 1 when x0 + x1 > 0.
func separable(r *rand.Rand, n int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		row := make([]float32, 5)
		for j := 0; j < 4; j++ {
			row[j] = float32(r.NormFloat64())
		}
		if row[0]+row[1] > 0 {
			row[4] = 1
		}
		out[i] = row
	}
	return out
}

// fakeEncoder multiplies the images by a scalar weight. From step breakAt
// on (when > 0) its weight is 0, so its features carry nothing: the
// validation loss rises and early stopping must bring back the best epoch.
type fakeEncoder struct {
	W         float32 `json:"w"`
	Steps     int     `json:"steps"`
	breakAt   int
	pending   int
	setStates int
	valLosses int
}

func (e *fakeEncoder) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	x, err := req.Batch.Images.Float32s()
	if err != nil {
		return nil, err
	}
	for i := range x {
		x[i] *= e.W
	}
	if req.Graph {
		e.pending++
	}
	return tensor.FromFloat32([]int64{req.Batch.Images.Shape[0], req.Batch.Images.Shape[3]}, x)
}

func (e *fakeEncoder) Backward(_ context.Context, g *tensor.Tensor) error {
	if e.pending == 0 || len(g.Shape) != 2 {
		return fmt.Errorf("backward of shape %v without a pending graph", g.Shape)
	}
	e.pending--
	return nil
}

func (e *fakeEncoder) Step(_ context.Context, req sdk.StepRequest) error {
	e.Steps++
	if e.breakAt > 0 && e.Steps >= e.breakAt {
		e.W = 0
	}
	if req.ValLoss != nil {
		e.valLosses++
	}
	return nil
}

func (e *fakeEncoder) State(context.Context) ([]byte, error) { return json.Marshal(e) }

func (e *fakeEncoder) SetState(_ context.Context, b []byte) error {
	e.setStates++
	return json.Unmarshal(b, e)
}

// fakeProbe is a probe of a fine-tuning head (headEvaluator, in process)
// on fake data and a fake encoder, with a run log to inspect.
func fakeProbe(t *testing.T, epochs, patience int, validate bool, enc *fakeEncoder) (*ftProbe, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "run.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	r := rand.New(rand.NewPCG(4, 4))
	data := fakeData{"train": separable(r, 64), "val": separable(r, 32), "test": separable(r, 40)}
	e := recipe.Eval{Name: "ft", Evaluator: recipe.PluginRef{Plugin: testFinetuneHead, Config: map[string]any{"bootstrap": 50}}}
	e.Finetune.Epochs, e.Finetune.BatchSize, e.Finetune.Patience, e.Finetune.LR = epochs, 8, patience, 0.05
	s := &session{r: &recipe.Recipe{Seed: 1}, opt: Options{Launcher: testLauncher()}, log: log}
	er := &evalRun{s: s, e: e, ev: &headEvaluator{}}
	plan := &finetune.Plan{TrainSplit: "train", TestSplit: "test", Task: sdk.TaskBinary, Names: []string{"finding"}, TestRows: features.Span(0, 40)}
	if validate {
		plan.ValSplit, plan.ValRows = "val", features.Span(0, 32)
	}
	return &ftProbe{er: er, plan: plan, enc: enc, ds: data, seed: 3, rows: features.Span(0, 64), key: "ft/seed-3"}, logPath
}

// testAUC scores a probe's test probabilities through protocol "score".
func testAUC(t *testing.T, pr *ftProbe, test *sdk.FeatureSet) float64 {
	t.Helper()
	res, err := pr.er.ev.Evaluate(context.Background(), sdk.EvalRequest{Protocol: "score",
		Splits: map[string]*sdk.FeatureSet{"seed-3": test}, Params: map[string]any{"task": "binary", "seeds": []int{3}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Scores[0].Mean
}

// TestFinetuneEarlyStopsAndRestoresBestEpoch trains through the host's loop
// (split steps, validation after each epoch) with an encoder that breaks at
// the start of the third epoch: training must stop after patience epochs
// without a lower validation loss and test the encoder and head of the
// second epoch.
func TestFinetuneEarlyStopsAndRestoresBestEpoch(t *testing.T) {
	ctx := context.Background()
	var tests []*sdk.FeatureSet
	for run := 0; run < 2; run++ {
		enc := &fakeEncoder{W: 1, breakAt: 17}
		pr, logPath := fakeProbe(t, 8, 2, true, enc)
		if err := pr.train(ctx); err != nil {
			t.Fatal(err)
		}
		if enc.W != 1 || enc.Steps != 16 || enc.setStates != 1 {
			t.Errorf("encoder after training: weight %v at step %d after %d restores, want the best epoch's (1 at step 16, one restore)", enc.W, enc.Steps, enc.setStates)
		}
		if enc.valLosses != 3 || enc.pending != 0 {
			t.Errorf("%d steps got a validation loss (want 3: after epochs 0-2), %d graphs left pending", enc.valLosses, enc.pending)
		}
		log, _ := os.ReadFile(logPath)
		for _, want := range []string{"early stop after epoch 3", "testing epoch 1 ", "of 4 run"} {
			if !strings.Contains(string(log), want) {
				t.Errorf("run log lacks %q:\n%s", want, log)
			}
		}
		// The head is the best epoch's too: it gives that epoch's loss again.
		val, err := pr.validate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("testing epoch 1 (validation loss %.4f)", val); !strings.Contains(string(log), want) {
			t.Errorf("validation loss after the restore is %v; run log:\n%s", val, log)
		}
		test, err := pr.test(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if auc := testAUC(t, pr, test); auc < 0.9 {
			t.Errorf("test AUC %v with the restored encoder and head", auc)
		}
		tests = append(tests, test)
	}
	a, _ := tests[0].Features.Float32s()
	b, _ := tests[1].Features.Float32s()
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(tests[0].IDs, tests[1].IDs) {
		t.Error("the same probe trained twice gave different test probabilities")
	}
}

// TestFinetuneWithoutValidation runs every epoch and tests the last one.
func TestFinetuneWithoutValidation(t *testing.T) {
	ctx := context.Background()
	enc := &fakeEncoder{W: 1}
	pr, logPath := fakeProbe(t, 3, 1, false, enc)
	if err := pr.train(ctx); err != nil {
		t.Fatal(err)
	}
	if enc.Steps != 24 || enc.setStates != 0 || enc.valLosses != 0 {
		t.Errorf("steps %d, restores %d, validation losses %d: want 24 steps and neither", enc.Steps, enc.setStates, enc.valLosses)
	}
	log, _ := os.ReadFile(logPath)
	if strings.Count(string(log), "train loss") != 3 || strings.Contains(string(log), "validation") {
		t.Errorf("run log:\n%s", log)
	}
	test, err := pr.test(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if auc := testAUC(t, pr, test); auc < 0.9 {
		t.Errorf("test AUC %v after 3 epochs", auc)
	}
}

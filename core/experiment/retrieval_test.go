package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

const (
	testRetrievalEncoder = "test-retrieval-encoder"
	testRetrievalData    = "test-retrieval-data"
)

func init() {
	builtin.RegisterEncoder(testRetrievalEncoder, func() sdk.Encoder { return &headEncoder{} })
	builtin.RegisterDataset(testRetrievalData, func() sdk.Dataset { return &retrievalData{} })
}

// retrievalCategories are the fake retrieval set's categories.
var retrievalCategories = []string{"Cardiomegaly", "Edema", "Pneumothorax"}

// headEncoder is an encoder whose pooled features are informative and
// whose projection head is untrained until a pretrained state is restored:
// its pooled features are the image itself; its projection maps each input
// to a pseudo-random vector drawn from a hash of it (an untrained head
// scrambles), unless SetState restored a ConVIRT state, after which the
// image and text projections share a space (the image's features, the
// text's category one-hot).
type headEncoder struct {
	trained bool
}

func (e *headEncoder) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testRetrievalEncoder, Version: "0.0.1", Schema: schema.Schema{Fields: []schema.Field{
		{Name: "weights", Type: schema.String, Default: "", Doc: "names ImageNet weights (unused)"},
		{Name: "seed", Type: schema.Int, Default: 0, Doc: "unused"},
	}}}, nil
}

func (e *headEncoder) Configure(context.Context, map[string]any) error { return nil }
func (e *headEncoder) Close() error                                    { return nil }

func (e *headEncoder) State(context.Context) ([]byte, error) {
	return json.Marshal(map[string]bool{"trained": e.trained})
}

func (e *headEncoder) SetState(_ context.Context, b []byte) error {
	var st map[string]bool
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	e.trained = st["trained"]
	return nil
}

func (e *headEncoder) Backward(context.Context, *tensor.Tensor) error {
	return fmt.Errorf("not trainable")
}
func (e *headEncoder) Step(context.Context, sdk.StepRequest) error {
	return fmt.Errorf("not trainable")
}

func (e *headEncoder) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	const dim = 3
	b := req.Batch
	var rows [][]float32
	switch {
	case len(b.Texts) > 0:
		if req.Output != sdk.OutputProjection {
			return nil, fmt.Errorf("text output %q: this fake has text projections only", req.Output)
		}
		for _, t := range b.Texts {
			row := make([]float32, dim)
			c := categoryIndex(t)
			if c < 0 {
				return nil, fmt.Errorf("text %q names no category", t)
			}
			row[c] = 1
			rows = append(rows, row)
		}
	case b.Images != nil:
		x, err := b.Images.Float32s()
		if err != nil {
			return nil, err
		}
		n := int(b.Images.Shape[0])
		for i := 0; i < n; i++ {
			rows = append(rows, x[i*dim:(i+1)*dim])
		}
	default:
		return nil, fmt.Errorf("empty batch")
	}
	out := make([]float32, 0, len(rows)*dim)
	for i, row := range rows {
		if req.Output == sdk.OutputProjection && !e.trained {
			row = scramble(row, b.IDs[i])
		}
		out = append(out, row...)
	}
	return tensor.FromFloat32([]int64{int64(len(rows)), dim}, out)
}

// scramble is an untrained head's output: a vector drawn from a hash of
// the input and its id, unrelated to the input's category.
func scramble(row []float32, id string) []float32 {
	h := fnv.New64a()
	fmt.Fprint(h, id, row)
	r := rand.New(rand.NewPCG(h.Sum64(), 7))
	out := make([]float32, len(row))
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

// categoryIndex is the index of the category a text names, -1 if none.
func categoryIndex(text string) int {
	for i, c := range retrievalCategories {
		if strings.Contains(text, c) {
			return i
		}
	}
	return -1
}

// retrievalData is an 8x200-shaped retrieval set: candidates and image
// queries per category, whose 1x1x3 images are their category's one-hot
// plus a small offset; text queries naming their category. With text_only
// it has the text splits only.
type retrievalData struct {
	textOnly bool
}

func (d *retrievalData) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testRetrievalData, Version: "0.0.1", Schema: schema.Schema{Fields: []schema.Field{
		{Name: "text_only", Type: schema.Bool, Default: false, Doc: "only the text-candidate and text-query splits"},
	}}}, nil
}

func (d *retrievalData) Configure(_ context.Context, cfg map[string]any) error {
	d.textOnly, _ = cfg["text_only"].(bool)
	return nil
}

func (d *retrievalData) Close() error { return nil }

func (d *retrievalData) Splits(context.Context) ([]string, error) {
	if d.textOnly {
		return []string{"text-candidate", "text-query"}, nil
	}
	return []string{"image-candidate", "image-query", "text-candidate", "text-query"}, nil
}

// perCategory is the number of samples of each category in a split.
func perCategory(split string) int {
	if strings.HasSuffix(split, "-candidate") {
		return 4
	}
	return 2
}

func (d *retrievalData) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: perCategory(split) * len(retrievalCategories), LabelNames: retrievalCategories, Task: sdk.TaskMultilabel}, nil
}

func (d *retrievalData) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	k := len(retrievalCategories)
	b := &sdk.Batch{LabelNames: retrievalCategories}
	var x, y []float32
	for _, i := range req.Indices {
		c, j := i/perCategory(req.Split), i%perCategory(req.Split)
		b.IDs = append(b.IDs, fmt.Sprintf("%s-%d", req.Split, i))
		img := make([]float32, k)
		img[c] = 1
		img[(c+1)%k] = 0.1 * float32(j+1) // distinct images, still nearest their category
		x = append(x, img...)
		lab := make([]float32, k)
		lab[c] = 1
		y = append(y, lab...)
		b.Texts = append(b.Texts, "findings of "+retrievalCategories[c])
	}
	n := int64(len(req.Indices))
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{n, 1, 1, int64(k)}, x); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{n, int64(k)}, y)
	return b, err
}

// retrievalRun runs the retrieval protocol for one init through real
// plugin processes (the fakes above) and returns the recorded entries.
func retrievalRun(t *testing.T, init string, dataConfig map[string]any) ([]results.Entry, string, error) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
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
	s := &session{r: r, opt: Options{Launcher: l, Progress: io.Discard}, log: log}
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
	err = er.runInit(ctx, init)
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

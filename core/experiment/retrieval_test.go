package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"

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

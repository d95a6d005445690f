package train

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// namedFake is a replica that serves named outputs: for row "pN" of its
// shard, "spatial" is [N, 10N, 100N]; "tokens" is [N, T, 2] with T its
// shard's longest text in words (each replica pads its own shard), the
// t-th word's state [N+t/10, -N] and the padding's [7, 7] (what a real
// encoder computes there), "token_mask" 1 for words and 0 for padding. It
// returns those of them the request names and records the named gradients
// it is sent.
type namedFake struct {
	*replicaFake
	got      []map[string]*tensor.Tensor
	notFirst bool // return "spatial" as one row, not batch-first
}

func (f *namedFake) ForwardNamed(_ context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	b := req.Batch
	n, longest := len(b.IDs), 0
	for _, s := range b.Texts {
		longest = max(longest, len(strings.Fields(s)))
	}
	var spatial, tokens, mask []float32
	for i, id := range b.IDs {
		k, _ := strconv.Atoi(strings.TrimPrefix(id, "p"))
		spatial = append(spatial, float32(k), float32(10*k), float32(100*k))
		words := len(strings.Fields(b.Texts[i]))
		for t := range longest {
			if t < words {
				tokens = append(tokens, float32(k)+float32(t)/10, -float32(k))
				mask = append(mask, 1)
			} else {
				tokens = append(tokens, 7, 7)
				mask = append(mask, 0)
			}
		}
	}
	rows := int64(n)
	if f.notFirst {
		rows, spatial = 1, spatial[:3]
	}
	out := map[string]*tensor.Tensor{}
	var err error
	if out[sdk.OutputSpatial], err = tensor.FromFloat32([]int64{rows, 3}, spatial); err != nil {
		return nil, err
	}
	if out[sdk.OutputTokens], err = tensor.FromFloat32([]int64{int64(n), int64(longest), 2}, tokens); err != nil {
		return nil, err
	}
	if out[sdk.OutputTokenMask], err = tensor.FromFloat32([]int64{int64(n), int64(longest)}, mask); err != nil {
		return nil, err
	}
	maps.DeleteFunc(out, func(name string, _ *tensor.Tensor) bool { return !slices.Contains(req.Outputs, name) })
	return out, nil
}

func (f *namedFake) BackwardNamed(_ context.Context, grads map[string]*tensor.Tensor) error {
	f.got = append(f.got, grads)
	return nil
}

func newNamedFakes(t *testing.T, n int) (*Replicas, []*namedFake) {
	t.Helper()
	r, fakes := newReplicaFakes(t, n)
	named := make([]*namedFake, n)
	for i, f := range fakes {
		named[i] = &namedFake{replicaFake: f}
		r.members[i] = named[i]
	}
	return r, named
}

// wordBatch is idBatch(n) with row i's text of words[i] words.
func wordBatch(words ...int) *sdk.Batch {
	b := idBatch(len(words))
	for i, w := range words {
		b.Texts[i] = strings.TrimSpace(strings.Repeat("w ", w))
	}
	return b
}

func floats(t *testing.T, y *tensor.Tensor) []float32 {
	t.Helper()
	if y == nil {
		t.Fatal("no tensor")
	}
	v, err := y.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReplicasNamedPadAndRoute: named outputs of a batch of 5 over 2
// replicas are concatenated along the batch axis; the token outputs of
// replica 0 (texts of at most 2 words) are padded with zeros to replica
// 1's 4 (mask 0 there); each replica is sent its own rows of each
// gradient, cut back to its own token length, and no gradient for an
// output that has none.
func TestReplicasNamedPadAndRoute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, fakes := newNamedFakes(t, 2)
	outs := []string{sdk.OutputSpatial, sdk.OutputTokens, sdk.OutputTokenMask}
	ys, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: wordBatch(1, 2, 2, 4, 3), Graph: true, Outputs: outs})
	if err != nil {
		t.Fatal(err)
	}
	sp, tok, mask := ys[sdk.OutputSpatial], ys[sdk.OutputTokens], ys[sdk.OutputTokenMask]
	if want := []float32{0, 0, 0, 1, 10, 100, 2, 20, 200, 3, 30, 300, 4, 40, 400}; !slices.Equal(floats(t, sp), want) || !slices.Equal(sp.Shape, []int64{5, 3}) {
		t.Errorf("spatial %v %v, want [5 3] %v", sp.Shape, floats(t, sp), want)
	}
	if !slices.Equal(tok.Shape, []int64{5, 4, 2}) || !slices.Equal(mask.Shape, []int64{5, 4}) {
		t.Fatalf("tokens %v, mask %v, want [5 4 2] and [5 4]", tok.Shape, mask.Shape)
	}
	wantTok := []float32{
		0, 0, 7, 7, 0, 0, 0, 0, // row 0: 1 word, replica 0's padding to 2, then the replicas' padding to 4
		1, -1, 1.1, -1, 0, 0, 0, 0,
		2, -2, 2.1, -2, 0, 0, 0, 0,
		3, -3, 3.1, -3, 3.2, -3, 3.3, -3,
		4, -4, 4.1, -4, 4.2, -4, 7, 7,
	}
	if !slices.Equal(floats(t, tok), wantTok) {
		t.Errorf("tokens %v, want %v", floats(t, tok), wantTok)
	}
	if want := []float32{1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0}; !slices.Equal(floats(t, mask), want) {
		t.Errorf("mask %v, want %v", floats(t, mask), want)
	}

	g := make([]float32, 40)
	for i := range g {
		g[i] = float32(i)
	}
	gt, _ := tensor.FromFloat32([]int64{5, 4, 2}, g)
	if err := r.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputTokens: gt, sdk.OutputSpatial: nil}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		shape []int64
		v     []float32
	}{
		{[]int64{3, 2, 2}, []float32{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19}},
		{[]int64{2, 4, 2}, g[24:]},
	} {
		if len(fakes[i].got) != 1 || len(fakes[i].got[0]) != 1 {
			t.Fatalf("replica %d was sent %v, want one gradient, of tokens only", i, fakes[i].got)
		}
		got := fakes[i].got[0][sdk.OutputTokens]
		if !slices.Equal(got.Shape, want.shape) || !slices.Equal(floats(t, got), want.v) {
			t.Errorf("replica %d's token gradient %v %v, want %v %v", i, got.Shape, floats(t, got), want.shape, want.v)
		}
	}
}

// TestReplicasNamedBookkeeping: named and plain forwards keep queues of
// their own (as the members do), each backward takes its own oldest;
// gradients of the wrong shape or of an output not forwarded are refused;
// a step drops what is pending; an output that is not batch-first is
// refused, saying so.
func TestReplicasNamedBookkeeping(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, fakes := newNamedFakes(t, 2)
	outs := []string{sdk.OutputSpatial}
	if _, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: wordBatch(1, 1, 1, 1, 1), Graph: true, Outputs: outs}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Forward(ctx, sdk.ForwardRequest{Batch: idBatch(4), Graph: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: wordBatch(1, 1, 1), Graph: true, Outputs: outs}); err != nil {
		t.Fatal(err)
	}
	pg, _ := tensor.FromFloat32([]int64{4, 2}, make([]float32, 8))
	if err := r.Backward(ctx, pg); err != nil {
		t.Fatalf("plain backward after named forwards: %v", err)
	}
	wrong, _ := tensor.FromFloat32([]int64{4, 3}, make([]float32, 12))
	if err := r.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputSpatial: wrong}); err == nil || !strings.Contains(err.Error(), "shape [4 3], output shape [5 3]") {
		t.Errorf("gradient of the wrong shape: %v", err)
	}
	g3, _ := tensor.FromFloat32([]int64{3, 3}, make([]float32, 9))
	if err := r.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputTokens: g3}); err == nil || !strings.Contains(err.Error(), `"tokens", which the forward did not output`) {
		t.Errorf("gradient of an output not forwarded: %v", err)
	}
	if _, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: wordBatch(1, 1, 1), Graph: true, Outputs: outs}); err != nil {
		t.Fatal(err)
	}
	if err := r.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := r.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputSpatial: g3}); err == nil || !strings.Contains(err.Error(), "no named forward with graph is pending") {
		t.Errorf("named backward after a step: %v", err)
	}
	if len(fakes[0].got)+len(fakes[1].got) != 0 {
		t.Errorf("refused backwards reached the replicas: %v, %v", fakes[0].got, fakes[1].got)
	}

	fakes[1].notFirst = true
	_, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: wordBatch(1, 1, 1, 1), Graph: true, Outputs: outs})
	if err == nil || !strings.Contains(err.Error(), `replica 1's output "spatial" has shape [1 3]: not batch-first`) {
		t.Errorf("an output that is not batch-first: %v", err)
	}
}

// namedGatherFake is a replica on a host of several that serves named
// outputs: it returns "tokens" of every rank's shard, as replicas gather
// them (padded to 5 tokens), each row its rank's value, and records the
// shard it was given and the gradients it is sent.
type namedGatherFake struct {
	gatherFake
	got []map[string]*tensor.Tensor
}

func (f *namedGatherFake) ForwardNamed(_ context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	f.ids = append(f.ids, req.Batch.IDs...)
	n := len(req.Batch.IDs) * f.world
	y, err := tensor.FromFloat32([]int64{int64(n), 5, 2}, slices.Repeat([]float32{float32(f.rank)}, n*10))
	return map[string]*tensor.Tensor{sdk.OutputTokens: y}, err
}

func (f *namedGatherFake) BackwardNamed(_ context.Context, grads map[string]*tensor.Tensor) error {
	f.got = append(f.got, grads)
	return nil
}

// TestReplicasNamedAcrossHosts: this host's replicas, global ranks 2 and 3
// of 4, each get their global shard; the named outputs are the gathered
// ones they return (any one's), and each is sent its own shard's rows of
// the gradient at the gathered length, which it cuts back itself.
func TestReplicasNamedAcrossHosts(t *testing.T) {
	ctx := context.Background()
	fakes := []*namedGatherFake{{gatherFake: gatherFake{replicaFake{rank: 2}, 4}}, {gatherFake: gatherFake{replicaFake{rank: 3}, 4}}}
	r, err := NewHostReplicas([]Encoder{fakes[0], fakes[1]}, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: idBatch(8), Graph: true, Outputs: []string{sdk.OutputTokens}})
	if err != nil {
		t.Fatal(err)
	}
	if y := ys[sdk.OutputTokens]; !slices.Equal(y.Shape, []int64{8, 5, 2}) || floats(t, y)[0] != 2 {
		t.Fatalf("tokens %v, want replica 2's gathered [8 5 2]", y.Shape)
	}
	if !slices.Equal(fakes[0].ids, []string{"p4", "p5"}) || !slices.Equal(fakes[1].ids, []string{"p6", "p7"}) {
		t.Fatalf("shards %v and %v", fakes[0].ids, fakes[1].ids)
	}
	g := make([]float32, 80)
	for i := range g {
		g[i] = float32(i / 10) // row i's gradient is i
	}
	grad, _ := tensor.FromFloat32([]int64{8, 5, 2}, g)
	if err := r.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputTokens: grad}); err != nil {
		t.Fatal(err)
	}
	for i, f := range fakes {
		if len(f.got) != 1 {
			t.Fatalf("replica %d got %d backwards", 2+i, len(f.got))
		}
		got := f.got[0][sdk.OutputTokens]
		v := floats(t, got)
		if !slices.Equal(got.Shape, []int64{2, 5, 2}) || v[0] != float32(4+2*i) || v[10] != float32(5+2*i) {
			t.Errorf("replica %d: gradient %v %v, want rows %d and %d at the gathered length", 2+i, got.Shape, v, 4+2*i, 5+2*i)
		}
	}
	fakes[1].world = 2 // returns 4 rows, not the batch's 8
	if _, err := r.ForwardNamed(ctx, sdk.ForwardRequest{Batch: idBatch(8), Outputs: []string{sdk.OutputTokens}}); err == nil || !strings.Contains(err.Error(), "replica 3's outputs differ from replica 2's") {
		t.Errorf("a replica that gathered other shapes: %v", err)
	}
}

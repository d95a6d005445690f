package sdk

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestTensorWireRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(shm.EnvDir, dir)
	small, _ := tensor.FromFloat32([]int64{2, 2}, []float32{1, -2, 3.5, 0})
	big, _ := tensor.FromInt64([]int64{64, 64}, make([]int64, 64*64))
	for _, tc := range []struct {
		t   *tensor.Tensor
		shm bool
	}{{small, false}, {big, true}, {&tensor.Tensor{DType: tensor.Float32, Shape: []int64{0, 3}, Data: []byte{}}, false}} {
		out := &outbox{opts: WireOptions{ShmThreshold: 1024}.withDefaults()}
		m, err := out.tensor(tc.t)
		if err != nil {
			t.Fatal(err)
		}
		if _, isShm := m.Payload.(*pb.Tensor_Shm); isShm != tc.shm {
			t.Fatalf("shape %v: shm = %v, want %v", tc.t.Shape, isShm, tc.shm)
		}
		got, err := fromTensor(m)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != tc.t.DType || !bytes.Equal(got.Data, tc.t.Data) || len(got.Shape) != len(tc.t.Shape) {
			t.Fatalf("round trip of %v changed it: %+v", tc.t.Shape, got)
		}
		out.done()
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("segments left: %v", ents)
	}
	if m, _ := (&outbox{}).tensor(nil); m != nil {
		t.Fatal("nil tensor did not stay nil")
	}
}

func TestFromTensorRejectsInconsistentMessages(t *testing.T) {
	for name, m := range map[string]*pb.Tensor{
		"dtype":  {Dtype: 99, Shape: []int64{1}, Payload: &pb.Tensor_Data{Data: []byte{0}}},
		"short":  {Dtype: pb.DType_DTYPE_FLOAT32, Shape: []int64{2}, Payload: &pb.Tensor_Data{Data: []byte{0, 0, 0, 0}}},
		"shm":    {Dtype: pb.DType_DTYPE_FLOAT32, Shape: []int64{2}, Payload: &pb.Tensor_Shm{Shm: &pb.ShmRef{Name: "convirt-1-00", Size: 4}}},
		"negdim": {Dtype: pb.DType_DTYPE_UINT8, Shape: []int64{-1}},
	} {
		if _, err := fromTensor(m); err == nil {
			t.Errorf("%s: accepted %v", name, m)
		}
	}
}

func TestWireOptionsEnvRoundTrip(t *testing.T) {
	for _, e := range (WireOptions{MaxMessageBytes: 1234, ShmThreshold: -1}).Env() {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	o, err := wireFromEnv()
	if err != nil || o.MaxMessageBytes != 1234 || o.ShmThreshold != -1 {
		t.Fatalf("wireFromEnv = %+v, %v", o, err)
	}
	t.Setenv(EnvMaxMessageBytes, "lots")
	if _, err := wireFromEnv(); err == nil || !strings.Contains(err.Error(), EnvMaxMessageBytes) {
		t.Fatalf("bad env accepted: %v", err)
	}
}

func TestDecodeConfig(t *testing.T) {
	var c struct {
		Tau   float64 `json:"tau"`
		Steps int     `json:"steps"`
	}
	if err := DecodeConfig(map[string]any{"tau": 0.1, "steps": 3.0}, &c); err != nil || c.Tau != 0.1 || c.Steps != 3 {
		t.Fatalf("DecodeConfig = %+v, %v", c, err)
	}
	if err := DecodeConfig(map[string]any{"tua": 0.1}, &c); err == nil || !strings.Contains(err.Error(), `unknown field "tua"`) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestServeNeedsExactlyOneImplementation(t *testing.T) {
	if err := Serve(ServeConfig{}); err != errNoImpl {
		t.Fatalf("Serve() = %v", err)
	}
}

// wireTrip sends m through its wire encoding, as gRPC does, into fresh.
func wireTrip[M proto.Message](t *testing.T, m, fresh M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, fresh); err != nil {
		t.Fatal(err)
	}
	return fresh
}

// TestBatchAndFeatureSetCarryGroups: a batch's and a feature set's groups
// (patients) survive the wire, one per sample, empty entries included.
func TestBatchAndFeatureSetCarryGroups(t *testing.T) {
	labels, _ := tensor.FromFloat32([]int64{3, 1}, []float32{1, 0, 1})
	groups := []string{"patient00001", "patient00001", ""}
	ids := []string{"a", "b", "c"}

	out := &outbox{opts: WireOptions{ShmThreshold: -1}.withDefaults()}
	m, err := out.batch(&Batch{IDs: ids, Labels: labels, LabelNames: []string{"x"}, Groups: groups})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fromBatch(wireTrip(t, m, &pb.Batch{}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Groups, groups) || !slices.Equal(b.IDs, ids) {
		t.Fatalf("batch groups %q ids %q after the wire, want %q %q", b.Groups, b.IDs, groups, ids)
	}

	feats, _ := tensor.FromFloat32([]int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	req := EvalRequest{Protocol: "linear", Splits: map[string]*FeatureSet{
		"train": {Features: feats, Labels: labels, IDs: ids, LabelNames: []string{"x"}, Groups: groups},
		"test":  {Features: feats, Labels: labels, IDs: ids, LabelNames: []string{"x"}},
	}}
	em, err := evalRequestToWire(out, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := evalRequestFromWire(wireTrip(t, em, &pb.EvaluateRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Splits["train"].Groups; !slices.Equal(g, groups) {
		t.Fatalf("feature set groups %q after the wire, want %q", g, groups)
	}
	if g := got.Splits["test"].Groups; g != nil {
		t.Fatalf("a feature set sent without groups came back with %q", g)
	}
	out.done()
}

// TestMessagesWithoutGroupsStillDecode: a batch and a feature set encoded
// as a plugin written before the groups field encodes them (fields 1-5 and
// 1-4 only, built here byte by byte) decode with no groups, everything
// else intact.
func TestMessagesWithoutGroupsStillDecode(t *testing.T) {
	labels := []byte{0, 0, 0x80, 0x3f} // float32 1, little-endian
	var tm []byte                      // Tensor{dtype: FLOAT32, shape: [1, 1], data: labels}
	tm = protowire.AppendTag(tm, 1, protowire.VarintType)
	tm = protowire.AppendVarint(tm, uint64(pb.DType_DTYPE_FLOAT32))
	tm = protowire.AppendTag(tm, 2, protowire.BytesType)
	tm = protowire.AppendBytes(tm, protowire.AppendVarint(protowire.AppendVarint(nil, 1), 1))
	tm = protowire.AppendTag(tm, 3, protowire.BytesType)
	tm = protowire.AppendBytes(tm, labels)

	var old []byte // Batch{ids: ["a"], texts: ["clear"], labels: tm, label_names: ["x"]}
	old = protowire.AppendTag(old, 1, protowire.BytesType)
	old = protowire.AppendString(old, "a")
	old = protowire.AppendTag(old, 3, protowire.BytesType)
	old = protowire.AppendString(old, "clear")
	old = protowire.AppendTag(old, 4, protowire.BytesType)
	old = protowire.AppendBytes(old, tm)
	old = protowire.AppendTag(old, 5, protowire.BytesType)
	old = protowire.AppendString(old, "x")
	var m pb.Batch
	if err := proto.Unmarshal(old, &m); err != nil {
		t.Fatal(err)
	}
	b, err := fromBatch(&m)
	if err != nil {
		t.Fatal(err)
	}
	if b.Groups != nil || !slices.Equal(b.IDs, []string{"a"}) || !slices.Equal(b.Texts, []string{"clear"}) ||
		!slices.Equal(b.LabelNames, []string{"x"}) || b.Labels == nil || !bytes.Equal(b.Labels.Data, labels) {
		t.Fatalf("old-style batch decoded as %+v", b)
	}

	var fs []byte // FeatureSet{features: tm, labels: tm, ids: ["a"], label_names: ["x"]}
	fs = protowire.AppendTag(fs, 1, protowire.BytesType)
	fs = protowire.AppendBytes(fs, tm)
	fs = protowire.AppendTag(fs, 2, protowire.BytesType)
	fs = protowire.AppendBytes(fs, tm)
	fs = protowire.AppendTag(fs, 3, protowire.BytesType)
	fs = protowire.AppendString(fs, "a")
	fs = protowire.AppendTag(fs, 4, protowire.BytesType)
	fs = protowire.AppendString(fs, "x")
	var req []byte // EvaluateRequest{protocol: "linear", splits: {"train": fs}}
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendString(req, "linear")
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, "train")
	entry = protowire.AppendTag(entry, 2, protowire.BytesType)
	entry = protowire.AppendBytes(entry, fs)
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, entry)
	var em pb.EvaluateRequest
	if err := proto.Unmarshal(req, &em); err != nil {
		t.Fatal(err)
	}
	r, err := evalRequestFromWire(&em)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Splits["train"]
	if got == nil || got.Groups != nil || !slices.Equal(got.IDs, []string{"a"}) || got.Features == nil || got.Labels == nil {
		t.Fatalf("old-style feature set decoded as %+v", got)
	}
}

// TestBatchGroupsOnePerID: a batch whose groups do not match its ids one
// to one is refused with both counts.
func TestBatchGroupsOnePerID(t *testing.T) {
	_, err := fromBatch(&pb.Batch{Ids: []string{"a", "b"}, Groups: []string{"p1"}})
	if err == nil || !strings.Contains(err.Error(), "1 groups for 2 ids") {
		t.Fatalf("err = %v", err)
	}
}

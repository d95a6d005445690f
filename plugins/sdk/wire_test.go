package sdk

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/shm"
	"github.com/convirt/convirt/core/tensor"
	"github.com/convirt/convirt/plugins/sdk/internal/pb"
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

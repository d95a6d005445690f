package sdk

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Environment variables through which the host tells a plugin its wire limits.
const (
	EnvMaxMessageBytes = "CONVIRT_PLUGIN_MAX_MSG_BYTES"
	EnvShmThreshold    = "CONVIRT_PLUGIN_SHM_THRESHOLD"
)

// Wire defaults.
const (
	DefaultMaxMessageBytes = 32 << 20
	DefaultShmThreshold    = 256 << 10
)

// ErrMessageTooLarge is wrapped by errors for a gRPC message over the limit.
var ErrMessageTooLarge = errors.New("message exceeds the gRPC size limit")

// WireOptions are the limits of one host-plugin connection. Both sides must
// use the same values; the host passes them to the plugin in its environment.
type WireOptions struct {
	// MaxMessageBytes bounds every gRPC message in both directions; zero
	// means DefaultMaxMessageBytes.
	MaxMessageBytes int
	// ShmThreshold is the payload size from which tensors and state blobs go
	// through shared memory; zero means DefaultShmThreshold, negative turns
	// shared memory off.
	ShmThreshold int
}

// withDefaults replaces zero fields with the defaults.
func (o WireOptions) withDefaults() WireOptions {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.ShmThreshold == 0 {
		o.ShmThreshold = DefaultShmThreshold
	}
	return o
}

// Env returns the environment entries that hand o to a plugin process.
func (o WireOptions) Env() []string {
	o = o.withDefaults()
	return []string{
		EnvMaxMessageBytes + "=" + strconv.Itoa(o.MaxMessageBytes),
		EnvShmThreshold + "=" + strconv.Itoa(o.ShmThreshold),
	}
}

// wireFromEnv reads the options the host set; unset values take defaults.
func wireFromEnv() (WireOptions, error) {
	var o WireOptions
	for _, v := range []struct {
		key string
		dst *int
	}{{EnvMaxMessageBytes, &o.MaxMessageBytes}, {EnvShmThreshold, &o.ShmThreshold}} {
		s := os.Getenv(v.key)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return o, fmt.Errorf("environment %s=%q: not an integer", v.key, s)
		}
		*v.dst = n
	}
	return o.withDefaults(), nil
}

// outbox converts values to their wire form for one message, remembering the
// shared-memory segments it created so the sender can remove them after the
// call whatever its outcome.
type outbox struct {
	opts WireOptions
	segs []string
}

// convert converts x, the field of a message named what, with conv unless
// an earlier field failed (*err set): the fields of a message convert one
// after another, and the first that fails sets *err, naming it. The caller
// checks *err once and gives it its status or context.
func convert[X, Y any](err *error, what string, x X, conv func(X) (Y, error)) Y {
	var y Y
	if *err != nil {
		return y
	}
	y, e := conv(x)
	if e != nil {
		*err = fmt.Errorf("%s: %w", what, e)
	}
	return y
}

// useShm reports whether a payload of n bytes goes through shared memory.
func (o *outbox) useShm(n int) bool {
	return o.opts.ShmThreshold > 0 && n > 0 && n >= o.opts.ShmThreshold
}

// tensor converts t (nil stays nil).
func (o *outbox) tensor(t *tensor.Tensor) (*pb.Tensor, error) {
	if t == nil {
		return nil, nil
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	m := &pb.Tensor{Dtype: pb.DType(t.DType), Shape: t.Shape}
	if !o.useShm(len(t.Data)) {
		m.Payload = &pb.Tensor_Data{Data: t.Data}
		return m, nil
	}
	ref, err := o.segment(t.Data)
	if err != nil {
		return nil, err
	}
	m.Payload = &pb.Tensor_Shm{Shm: ref}
	return m, nil
}

// blob converts an opaque byte string.
func (o *outbox) blob(b []byte) (*pb.Blob, error) {
	if !o.useShm(len(b)) {
		return &pb.Blob{Payload: &pb.Blob_Data{Data: b}}, nil
	}
	ref, err := o.segment(b)
	if err != nil {
		return nil, err
	}
	return &pb.Blob{Payload: &pb.Blob_Shm{Shm: ref}}, nil
}

// segment writes b to a new shared-memory segment.
func (o *outbox) segment(b []byte) (*pb.ShmRef, error) {
	name, err := shm.Write(b)
	if err != nil {
		return nil, err
	}
	o.segs = append(o.segs, name)
	return &pb.ShmRef{Name: name, Size: int64(len(b))}, nil
}

// done removes the segments the receiver has not already removed.
func (o *outbox) done() {
	for _, s := range o.segs {
		_ = shm.Remove(s)
	}
	o.segs = nil
}

// batch converts b (nil stays nil).
func (o *outbox) batch(b *Batch) (*pb.Batch, error) {
	if b == nil {
		return nil, nil
	}
	img, err := o.tensor(b.Images)
	if err != nil {
		return nil, fmt.Errorf("batch images: %w", err)
	}
	lab, err := o.tensor(b.Labels)
	if err != nil {
		return nil, fmt.Errorf("batch labels: %w", err)
	}
	return &pb.Batch{Ids: b.IDs, Images: img, Texts: b.Texts, Labels: lab, LabelNames: b.LabelNames, Groups: b.Groups}, nil
}

// fromTensor decodes a wire tensor, reading (and so removing) its segment.
func fromTensor(m *pb.Tensor) (*tensor.Tensor, error) {
	if m == nil {
		return nil, nil
	}
	t := &tensor.Tensor{DType: tensor.DType(m.Dtype), Shape: m.Shape}
	if t.DType.Size() == 0 {
		return nil, fmt.Errorf("tensor: unknown dtype %d", m.Dtype)
	}
	switch p := m.Payload.(type) {
	case *pb.Tensor_Shm:
		want := tensor.Numel(t.Shape) * int64(t.DType.Size())
		if p.Shm.Size != want {
			return nil, fmt.Errorf("tensor %v %s needs %d bytes, shared-memory segment has %d", t.Shape, t.DType, want, p.Shm.Size)
		}
		b, err := shm.Read(p.Shm.Name, p.Shm.Size)
		if err != nil {
			return nil, err
		}
		t.Data = b
	case *pb.Tensor_Data:
		t.Data = p.Data
	}
	if t.Data == nil {
		t.Data = []byte{}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// fromBlob decodes a wire blob.
func fromBlob(m *pb.Blob) ([]byte, error) {
	switch p := m.GetPayload().(type) {
	case *pb.Blob_Shm:
		return shm.Read(p.Shm.Name, p.Shm.Size)
	case *pb.Blob_Data:
		return p.Data, nil
	}
	return []byte{}, nil
}

// fromBatch decodes a wire batch. Groups must be absent (a sender that
// knows none, or predates the field) or one per id.
func fromBatch(m *pb.Batch) (*Batch, error) {
	if m == nil {
		return nil, nil
	}
	if len(m.Groups) != 0 && len(m.Groups) != len(m.Ids) {
		return nil, fmt.Errorf("batch has %d groups for %d ids: want one group per id, or none", len(m.Groups), len(m.Ids))
	}
	img, err := fromTensor(m.Images)
	if err != nil {
		return nil, fmt.Errorf("batch images: %w", err)
	}
	lab, err := fromTensor(m.Labels)
	if err != nil {
		return nil, fmt.Errorf("batch labels: %w", err)
	}
	return &Batch{IDs: m.Ids, Images: img, Texts: m.Texts, Labels: lab, LabelNames: m.LabelNames, Groups: m.Groups}, nil
}

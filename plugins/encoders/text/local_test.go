package text

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// TestNamedTokens: BERT's named outputs are Forward's projection bit for
// bit, token states [N, L, D] and a mask with one 1 per real token; the
// max-pooled features are the maximum of the masked token states.
func TestNamedTokens(t *testing.T) {
	ctx := context.Background()
	dir := writeHFDir(t)
	p := New()
	t.Cleanup(func() { p.Close() })
	if err := p.Configure(ctx, map[string]any{"vocab": filepath.Join(dir, "vocab.txt"), "size": "tiny", "hidden": 16, "heads": 2, "layers": 1, "seed": 1, "proj_dim": 4, "pooling": "max"}); err != nil {
		t.Fatal(err)
	}
	b := &sdk.Batch{IDs: []string{"a", "b"}, Texts: []string{"Left pleural effusion.", "No."}}
	want, err := p.Forward(ctx, sdk.ForwardRequest{Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ForwardNamed(ctx, sdk.ForwardRequest{Batch: b, Outputs: []string{sdk.OutputProjection, sdk.OutputFeatures, sdk.OutputTokens, sdk.OutputTokenMask}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[sdk.OutputProjection].Data, want.Data) {
		t.Error("named projection differs from Forward's")
	}
	tok, mask := got[sdk.OutputTokens], got[sdk.OutputTokenMask]
	if len(tok.Shape) != 3 || tok.Shape[0] != 2 || tok.Shape[2] != 16 || !slices.Equal(mask.Shape, tok.Shape[:2]) {
		t.Fatalf("tokens %v, mask %v", tok.Shape, mask.Shape)
	}
	h, _ := tok.Float32s()
	m, _ := mask.Float32s()
	f, _ := got[sdk.OutputFeatures].Float32s()
	L, D := int(tok.Shape[1]), 16
	// [CLS] left pleural effusion . [SEP]: 6 tokens; [CLS] no . [SEP]: 4.
	for i, wantN := range []float32{6, 4} {
		var n float32
		for j := range L {
			n += m[i*L+j]
		}
		if n != wantN {
			t.Errorf("text %d: mask counts %v tokens, want %v", i, n, wantN)
		}
		for d := range D {
			best := float32(-1e30)
			for j := range L {
				if m[i*L+j] == 1 {
					best = max(best, h[(i*L+j)*D+d])
				}
			}
			if best != f[i*D+d] {
				t.Fatalf("text %d dim %d: feature %v, max over tokens %v", i, d, f[i*D+d], best)
			}
		}
	}
}

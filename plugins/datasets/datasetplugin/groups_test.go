package datasetplugin

import (
	"context"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
)

// TestBatchesCarryPatients: a batch names each sample's patient (the
// reader's Example.Group; for CheXpert the patientNNNNN of its path), one
// per id, so that the host and the evaluators can hold out whole patients;
// the synthetic set has patients with a frontal and a lateral image, whose
// two samples share their group.
func TestBatchesCarryPatients(t *testing.T) {
	ctx := context.Background()
	p := configured(t, "chexpert", map[string]any{"root": chexpertCorpus(t, 40), "image_size": 16})
	info, err := p.Describe(ctx, "train")
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: span(info.Len)})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Groups) != len(b.IDs) || len(b.IDs) != info.Len {
		t.Fatalf("%d groups for %d ids (split of %d)", len(b.Groups), len(b.IDs), info.Len)
	}
	images := map[string]int{}
	for i, g := range b.Groups {
		if want := source.PatientInPath(b.IDs[i]); g != want || g == "" {
			t.Errorf("sample %s: group %q, want %q", b.IDs[i], g, want)
		}
		images[g]++
	}
	multi := 0
	for _, n := range images {
		if n > 1 {
			multi++
		}
	}
	if multi == 0 || len(images) >= len(b.IDs) {
		t.Fatalf("%d patients for %d images, %d with several: the test needs patients with several images", len(images), len(b.IDs), multi)
	}
}

// TestGroupsNilWhenUnknown: a batch whose examples have no group carries
// no groups (nil, as from a plugin that predates them), not empty strings.
func TestGroupsNilWhenUnknown(t *testing.T) {
	if g := groups([]source.Example{{ID: "a"}, {ID: "b"}}); g != nil {
		t.Fatalf("groups of ungrouped examples = %q, want nil", g)
	}
	if g := groups([]source.Example{{ID: "a"}, {ID: "b", Group: "p"}}); len(g) != 2 || g[0] != "" || g[1] != "p" {
		t.Fatalf("groups = %q", g)
	}
}

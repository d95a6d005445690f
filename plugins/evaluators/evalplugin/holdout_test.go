package evalplugin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// patientRequest is a binary linear request whose train split holds
// several images of most patients (patient p has 1 + p%3 images, 240 in
// all), labelled per patient with a finding the features carry.
func patientRequest(t *testing.T) sdk.EvalRequest {
	t.Helper()
	r := rand.New(rand.NewPCG(17, 1))
	var x, y [][]float32
	var groups []string
	for p := 0; p < 120; p++ {
		sick := float32(0)
		if r.Float64() < 0.3 {
			sick = 1
		}
		for range 1 + p%3 {
			x = append(x, []float32{sick + float32(0.5*r.NormFloat64()), float32(r.NormFloat64())})
			y = append(y, []float32{sick})
			groups = append(groups, fmt.Sprintf("patient%05d", p))
		}
	}
	tex, tey := synthLabels(r, 100, 2, 1, true)
	train := fset(t, x, y, []string{"Edema"})
	train.Groups = groups
	return sdk.EvalRequest{Protocol: "linear", Params: map[string]any{"task": "binary", "fraction": 1.0, "seeds": []int{0}},
		Splits: map[string]*sdk.FeatureSet{"train": train, "test": fset(t, tex, tey, []string{"Edema"})}}
}

// TestLinearHoldoutKeepsPatientsWhole: the validation rows the probe holds
// out of train take patients whole: no patient has images among both the
// validation and the training rows, and every row is on one side.
func TestLinearHoldoutKeepsPatientsWhole(t *testing.T) {
	req := patientRequest(t)
	job, err := prepareLinear(req, DefaultLinearConfig())
	if err != nil {
		t.Fatal(err)
	}
	if job.val == nil || job.val.rows == 0 {
		t.Fatal("nothing held out")
	}
	if job.val.rows+job.pool.rows != 240 || len(job.val.groups) != job.val.rows || len(job.pool.groups) != job.pool.rows {
		t.Fatalf("%d validation + %d training rows (groups %d, %d), want 240 in all with their groups",
			job.val.rows, job.pool.rows, len(job.val.groups), len(job.pool.groups))
	}
	held := map[string]bool{}
	for _, g := range job.val.groups {
		held[g] = true
	}
	for i, g := range job.pool.groups {
		if held[g] {
			t.Errorf("%s has images on both sides (training row %s)", g, job.pool.ids[i])
		}
	}
	// The whole protocol runs on the grouped holdout.
	res, err := configured(t, NewLinear(), map[string]any{"bootstrap": 20}).Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics["val_examples"] != float64(job.val.rows) {
		t.Errorf("val_examples %v, want %d", res.Metrics["val_examples"], job.val.rows)
	}
}

// TestLinearHoldoutWithoutGroupsUnchanged: a request without groups (a
// dataset that knows none, or an old host) holds out exactly the rows of
// the label-stratified draw it always did.
func TestLinearHoldoutWithoutGroupsUnchanged(t *testing.T) {
	for _, req := range []sdk.EvalRequest{labelRequest(t, 3, true, map[string]any{"task": "multilabel", "fraction": 0.1, "seeds": []int{0}}), patientRequest(t)} {
		req.Splits["train"].Groups = nil
		cfg := DefaultLinearConfig()
		cfg.ValSeed = 5
		job, err := prepareLinear(req, cfg)
		if err != nil {
			t.Fatal(err)
		}
		train, err := getSplit(req, sdk.SplitTrain)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := subset.Stratified(train.labelRows(), cfg.ValFraction, cfg.ValSeed)
		if err != nil {
			t.Fatal(err)
		}
		if want := train.take("val", idx).ids; !slices.Equal(job.val.ids, want) {
			t.Errorf("held out %v, want the stratified draw %v", job.val.ids, want)
		}
	}
}

// TestLinearGroupsOnePerRow: groups that are not one per row are refused,
// naming the split.
func TestLinearGroupsOnePerRow(t *testing.T) {
	req := patientRequest(t)
	req.Splits["train"].Groups = req.Splits["train"].Groups[1:]
	_, err := configured(t, NewLinear(), nil).Evaluate(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), `split "train" has 239 groups for 240 rows`) {
		t.Fatalf("err = %v", err)
	}
}

// TestLinearHoldoutOverGRPC: the groups reach an evaluator in its own
// process: it holds out as many rows as the grouped draw does in process,
// which differs here from the ungrouped draw's count.
func TestLinearHoldoutOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	req := patientRequest(t)
	grouped, err := prepareLinear(req, DefaultLinearConfig())
	if err != nil {
		t.Fatal(err)
	}
	plain := patientRequest(t)
	plain.Splits["train"].Groups = nil
	ungrouped, err := prepareLinear(plain, DefaultLinearConfig())
	if err != nil {
		t.Fatal(err)
	}
	if grouped.val.rows == ungrouped.val.rows {
		t.Fatalf("both draws hold out %d rows: the test cannot tell them apart", grouped.val.rows)
	}
	ctx := context.Background()
	remote := startBuiltin(t, LinearName)
	if err := remote.Configure(ctx, map[string]any{"bootstrap": 20}); err != nil {
		t.Fatal(err)
	}
	res, err := remote.Evaluate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Metrics["val_examples"]; got != float64(grouped.val.rows) {
		t.Fatalf("over gRPC val_examples %v, want the grouped draw's %d (ungrouped: %d)", got, grouped.val.rows, ungrouped.val.rows)
	}
}

package experiment

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/convirt/convirt/core/features"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/subset"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

const testPatientData = "test-patient-data"

func init() {
	builtin.RegisterDataset(testPatientData, func() sdk.Dataset { return &patientData{} })
}

// patientSample is one image of patientData's train split.
type patientSample struct {
	patient string
	label   float32
}

// patientSamples is the train split of patientData: patient p has 1 + p%3
// images (240 in all), labelled per patient, in patient order.
var patientSamples = func() (out []patientSample) {
	r := rand.New(rand.NewPCG(23, 1))
	for p := range 120 {
		var label float32
		if r.Float64() < 0.3 {
			label = 1
		}
		for range 1 + p%3 {
			out = append(out, patientSample{fmt.Sprintf("patient%05d", p), label})
		}
	}
	return out
}()

// patientData is a binary dataset whose train split holds several images of
// most patients and names their patients in Batch.Groups (unless
// no_groups), and whose "valid" split is its test split, so that
// fine-tuning holds validation rows out of train.
type patientData struct{ noGroups bool }

func (d *patientData) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testPatientData, Version: "0.0.1", Schema: schema.Schema{Fields: []schema.Field{
		{Name: "no_groups", Type: schema.Bool, Default: false, Doc: "send no groups, as a dataset that knows none"},
	}}}, nil
}

func (d *patientData) Configure(_ context.Context, cfg map[string]any) error {
	d.noGroups, _ = cfg["no_groups"].(bool)
	return nil
}

func (d *patientData) Close() error { return nil }

func (d *patientData) Splits(context.Context) ([]string, error) {
	return []string{"train", "valid"}, nil
}

func (d *patientData) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	n := len(patientSamples)
	if split == "valid" {
		n = 30
	}
	return sdk.SplitInfo{Name: split, Len: n, LabelNames: []string{"Edema"}, Task: sdk.TaskBinary}, nil
}

func (d *patientData) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{LabelNames: []string{"Edema"}}
	var x, y []float32
	for _, i := range req.Indices {
		s := patientSamples[i%len(patientSamples)]
		b.IDs = append(b.IDs, fmt.Sprintf("%s-%d", req.Split, i))
		x, y = append(x, s.label, float32(i%7)), append(y, s.label)
		if !d.noGroups {
			b.Groups = append(b.Groups, req.Split+"/"+s.patient)
		}
	}
	n := int64(len(req.Indices))
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{n, 1, 1, 2}, x); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{n, 1}, y)
	return b, err
}

// patientRun is an evaluation of patientData, served by a real plugin
// process, with fine-tuning's validation holdout at 10%.
func patientRun(t *testing.T, dataConfig map[string]any) *evalRun {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	l := testLauncher()
	s := &session{r: &recipe.Recipe{Output: dir, Seed: 1}, opt: Options{Launcher: l, Progress: io.Discard}, log: log}
	d, err := l.Dataset(ctx, testPatientData, dataConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	e := recipe.Eval{Name: "ft", Protocol: "finetune"}
	e.Finetune.ValFraction, e.Finetune.ValSeed = 0.1, 3
	return &evalRun{s: s, e: e, data: dataset{client: d, plugin: testPatientData, config: dataConfig}}
}

// TestFinetuneHoldoutKeepsPatientsWhole: fine-tuning's validation rows,
// held out of train by the host, take patients whole, with the groups the
// dataset plugin sent over the wire, and again from the label cache.
func TestFinetuneHoldoutKeepsPatientsWhole(t *testing.T) {
	er := patientRun(t, map[string]any{})
	for _, read := range []string{"dataset", "label cache"} {
		p, err := er.finetunePlan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if p.ValSplit != "train" || len(p.ValRows) == 0 || len(p.ValRows)+len(p.Pool) != len(patientSamples) {
			t.Fatalf("%s: %d validation rows of %q, %d training rows", read, len(p.ValRows), p.ValSplit, len(p.Pool))
		}
		held := map[string]bool{}
		for _, i := range p.ValRows {
			held[patientSamples[i].patient] = true
		}
		for _, i := range p.Pool {
			if g := patientSamples[i].patient; held[g] {
				t.Errorf("%s: %s has images on both sides (training row %d)", read, g, i)
			}
		}
	}
}

// TestFinetuneHoldoutWithoutGroupsUnchanged: from a dataset that sends no
// groups, fine-tuning holds out exactly the rows of the label-stratified
// draw it always did.
func TestFinetuneHoldoutWithoutGroupsUnchanged(t *testing.T) {
	er := patientRun(t, map[string]any{"no_groups": true})
	p, err := er.finetunePlan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	labels := make([][]float32, len(patientSamples))
	for i, s := range patientSamples {
		labels[i] = []float32{s.label}
	}
	want, err := subset.Stratified(labels, 0.1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.ValRows, want) {
		t.Fatalf("held out %v, want the stratified draw %v", p.ValRows, want)
	}
}

// TestFeaturesCarryGroups: features extracted through a dataset plugin
// process carry its groups, one per sample, and the labels read for
// fine-tuning do too; without groups both have none.
func TestFeaturesCarryGroups(t *testing.T) {
	ctx := context.Background()
	for _, grouped := range []bool{true, false} {
		er := patientRun(t, map[string]any{"no_groups": !grouped})
		fs, err := features.Extract(ctx, &fakeEncoder{W: 1}, er.data.client, "train", sdk.OutputFeatures, false, 1, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		l, err := features.ReadLabels(ctx, er.data.client, "train")
		if err != nil {
			t.Fatal(err)
		}
		if !grouped {
			if fs.Groups != nil || l.Groups != nil {
				t.Errorf("without groups: features carry %d, labels %d", len(fs.Groups), len(l.Groups))
			}
			continue
		}
		if len(fs.Groups) != len(patientSamples) || len(l.Groups) != len(patientSamples) {
			t.Fatalf("%d feature groups, %d label groups for %d samples", len(fs.Groups), len(l.Groups), len(patientSamples))
		}
		for i, s := range patientSamples {
			if want := "train/" + s.patient; fs.Groups[i] != want || l.Groups[i] != want {
				t.Fatalf("sample %d: groups %q and %q, want %q", i, fs.Groups[i], l.Groups[i], want)
			}
		}
	}
}

package main

// The tests below check the datasets of recipes/paper against the protocol
// they claim (normalisation, views, splits, task) and that their
// normalisation reaches the run's params. They live here, where the host
// (core/experiment) and the dataset plugins meet: neither may import the
// other.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/datasets/datasetplugin"
	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/hashicorp/go-hclog"
)

// paperRecipes loads every recipe under recipes/paper without environment
// (so ${CONVIRT_DATA:-data} is data) and with extra --set values.
func paperRecipes(t *testing.T, sets ...string) map[string]*recipe.Recipe {
	t.Helper()
	files, err := filepath.Glob("../../recipes/paper/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("paper recipes: %v %v", files, err)
	}
	out := map[string]*recipe.Recipe{}
	for _, f := range files {
		r, err := recipe.Load(f, recipe.Options{Sets: sets, Getenv: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = r
	}
	return out
}

func floats(t *testing.T, v any) []float64 {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]float64, len(l))
	for i, x := range l {
		switch n := x.(type) {
		case float64:
			out[i] = n
		case int:
			out[i] = float64(n)
		}
	}
	return out
}

// TestPaperRecipesUseImageNetNormalisation: the paper's encoders start from
// ImageNet weights (or from a pretraining run that did), so every dataset
// of recipes/paper normalises with ImageNet's mean and std on three
// channels, and the dataset plugin accepts that config.
func TestPaperRecipesUseImageNetNormalisation(t *testing.T) {
	n := 0
	for name, r := range paperRecipes(t) {
		enc, _ := r.Tree()["image_encoder"].(map[string]any)
		encCfg, _ := enc["config"].(map[string]any)
		if encCfg["weights"] == nil || encCfg["in_channels"] != 3 {
			t.Fatalf("%s: the image encoder is not ImageNet-initialised on 3 channels: %v", name, encCfg)
		}
		for _, u := range r.Plugins() {
			if u.Kind != recipe.KindDataset {
				continue
			}
			n++
			c := u.Config
			if c["channels"] != 3 || !reflect.DeepEqual(floats(t, c["mean"]), datasetplugin.ImageNetMean) || !reflect.DeepEqual(floats(t, c["std"]), datasetplugin.ImageNetStd) {
				t.Errorf("%s %s: channels %v, mean %v, std %v: want 3 channels with ImageNet's mean %v and std %v",
					name, u.Path, c["channels"], c["mean"], c["std"], datasetplugin.ImageNetMean, datasetplugin.ImageNetStd)
			}
			p := datasetplugin.New(u.Name, "")
			p.SetLogger(hclog.NewNullLogger())
			if err := p.Configure(context.Background(), c); err != nil {
				t.Errorf("%s %s: %v", name, u.Path, err)
			}
		}
	}
	if n < 9 {
		t.Errorf("%d dataset configs in recipes/paper, want at least 9", n)
	}
}

// TestNormalisationInRunParams: a pretraining run's params (what the host
// logs from the resolved recipe, here to a fake MLflow server) carry the
// normalisation of its data.
func TestNormalisationInRunParams(t *testing.T) {
	srv := mlflowtest.NewServer(t)
	t.Setenv("MLFLOW_TRACKING_URI", "")
	for _, name := range []string{"pretrain-mimic.yaml", "pretrain-bone.yaml"} {
		r := paperRecipes(t, "tracking.mlflow.uri="+srv.URL, "tracking.mlflow.experiment="+strings.TrimSuffix(name, ".yaml"))[name]
		parent, err := runs.Create(t.TempDir(), r.Experiment, runs.Options{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		tr, err := experiment.TrackSweep(context.Background(), r, parent, &log)
		if err != nil || tr == nil {
			t.Fatalf("%s: tracker %v, %v (%s)", name, tr, err, log.String())
		}
		if err := tr.Finish(runs.Finished); err != nil {
			t.Fatal(err)
		}
		id, _ := srv.ExperimentID(strings.TrimSuffix(name, ".yaml"))
		found := false
		for _, run := range srv.Runs() {
			if run.Info.ExperimentID != id {
				continue
			}
			found = true
			for key, want := range map[string][]float64{"data.pretrain.config.mean": datasetplugin.ImageNetMean, "data.pretrain.config.std": datasetplugin.ImageNetStd} {
				if got := run.Params[key]; got != fmt.Sprint(want) {
					t.Errorf("%s: param %s = %q, want %q", name, key, got, fmt.Sprint(want))
				}
			}
		}
		if !found {
			t.Errorf("%s: no run in MLflow", name)
		}
	}
}

// TestPaperRecipeSplits opens table1.yaml's datasets on the synthetic
// corpus: CheXpert without laterals (frontal_only, the paper's setting),
// RSNA's valid split the held-out 10% of the training patients, COVIDx as
// the three-class task.
func TestPaperRecipeSplits(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(context.Background(), dir, synth.Config{Studies: 160, Size: 16, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	roots := map[string]string{"chexpert": "CheXpert-v1.0-small", "rsna": "RSNA", "covidx": "COVIDx", "mura": "MURA-v1.1"}
	ctx := context.Background()
	seen := map[string]bool{}
	for _, u := range paperRecipes(t)["table1.yaml"].Plugins() {
		if u.Kind != recipe.KindDataset {
			continue
		}
		c := map[string]any{}
		for k, v := range u.Config {
			c[k] = v
		}
		c["root"], c["image_size"] = filepath.Join(dir, roots[u.Name]), 16
		p := datasetplugin.New(u.Name, "")
		p.SetLogger(hclog.NewNullLogger())
		if err := p.Configure(ctx, c); err != nil {
			t.Fatalf("%s: %v", u.Path, err)
		}
		describe := func(split string) sdk.SplitInfo {
			info, err := p.Describe(ctx, split)
			if err != nil {
				t.Fatalf("%s %s: %v", u.Path, split, err)
			}
			return info
		}
		seen[u.Name] = true
		switch u.Name {
		case "chexpert":
			train := describe("train")
			idx := make([]int, train.Len)
			for i := range idx {
				idx[i] = i
			}
			b, err := p.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: idx})
			if err != nil {
				t.Fatal(err)
			}
			var laterals []string
			for _, id := range b.IDs {
				if strings.Contains(id, "lateral") {
					laterals = append(laterals, id)
				}
			}
			if len(laterals) > 0 {
				t.Errorf("%s: %d lateral views in train, e.g. %s", u.Path, len(laterals), laterals[0])
			}
			all := datasetplugin.New("chexpert", "")
			all.SetLogger(hclog.NewNullLogger())
			if err := all.Configure(ctx, map[string]any{"root": c["root"], "image_size": 16}); err != nil {
				t.Fatal(err)
			}
			if info, _ := all.Describe(ctx, "train"); info.Len <= train.Len {
				t.Errorf("%s: %d training images, %d without the recipe's options: no lateral dropped", u.Path, train.Len, info.Len)
			}
		case "rsna":
			train, valid := describe("train").Len, describe("valid").Len
			if want := int(math.Ceil(0.1 * float64(train+valid))); valid < want || valid > want+1 {
				t.Errorf("%s: valid holds %d of %d training patients, want %d (the held-out 10%% of train)", u.Path, valid, train+valid, want)
			}
		case "covidx":
			if info := describe("train"); info.Task != "multiclass" || len(info.LabelNames) != 3 {
				t.Errorf("%s: %s task with labels %v, want three classes", u.Path, info.Task, info.LabelNames)
			}
		}
	}
	for _, name := range []string{"chexpert", "rsna", "covidx", "mura"} {
		if !seen[name] {
			t.Errorf("table1.yaml has no %s entry", name)
		}
	}
}

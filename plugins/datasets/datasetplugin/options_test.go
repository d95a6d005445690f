package datasetplugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/csvfile"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
)

func splitLen(t *testing.T, p *Plugin, split string) int {
	t.Helper()
	info, err := p.Describe(context.Background(), split)
	if err != nil {
		t.Fatal(err)
	}
	return info.Len
}

// labelColumn returns column j of the labels of every example of split.
func labelColumn(t *testing.T, p *Plugin, split string, j int) []float32 {
	t.Helper()
	n := splitLen(t, p, split)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	b, err := p.Batch(context.Background(), sdk.BatchRequest{Split: split, Indices: idx})
	if err != nil {
		t.Fatal(err)
	}
	all, err := b.Labels.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	k := len(b.LabelNames)
	out := make([]float32, 0, n)
	for i := range len(b.IDs) {
		out = append(out, all[i*k+j])
	}
	return out
}

// counts returns how many values are 1 and how many NaN.
func counts(v []float32) (ones, nans int) {
	for _, x := range v {
		if x == 1 {
			ones++
		}
		if source.IsNaN(x) {
			nans++
		}
	}
	return ones, nans
}

func TestMimicOptions(t *testing.T) {
	root := filepath.Join(shared(t), "MIMIC-CXR")
	cfg := func(kv ...any) map[string]any {
		m := map[string]any{"root": root, "image_size": 16}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	pa := splitLen(t, configured(t, "mimic-cxr", cfg("views", []any{"PA"})), "train")
	both := splitLen(t, configured(t, "mimic-cxr", cfg("views", []any{"AP", "PA"})), "train")
	def := splitLen(t, configured(t, "mimic-cxr", cfg()), "train")
	lat := splitLen(t, configured(t, "mimic-cxr", cfg("views", []any{"AP", "PA", "LATERAL"})), "train")
	if pa == 0 || pa >= both || def != both || lat <= both {
		t.Errorf("train images: PA %d, AP+PA %d, default %d, with laterals %d", pa, both, def, lat)
	}

	// labels + policy: Pneumonia is uncertain wherever there is consolidation.
	ones, _ := counts(labelColumn(t, configured(t, "mimic-cxr", cfg("labels", []any{"Pneumonia"}, "policy", map[string]any{"Pneumonia": "ones"})), "train", 0))
	_, nans := counts(labelColumn(t, configured(t, "mimic-cxr", cfg("labels", []any{"Pneumonia"}, "policy", map[string]any{"Pneumonia": "ignore"})), "train", 0))
	if ones == 0 || nans != ones {
		t.Errorf("Pneumonia: %d ones under U-Ones, %d ignored under ignore", ones, nans)
	}

	// split_file: an uncompressed split file putting every image in train.
	sp, err := csvfile.Read(filepath.Join(root, "mimic-cxr-2.0.0-split.csv.gz"), csvfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	col, _ := sp.Col("split")
	text := strings.Join(sp.Header, ",") + "\n"
	for _, r := range sp.Rows {
		r.Fields[col] = "train"
		text += strings.Join(r.Fields, ",") + "\n"
	}
	alt := filepath.Join(t.TempDir(), "all-train.csv")
	if err := os.WriteFile(alt, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, alt)
	if n := splitLen(t, configured(t, "mimic-cxr", cfg("split_file", filepath.ToSlash(rel))), "train"); n <= def {
		t.Errorf("split_file moving everything to train: %d images, default %d", n, def)
	}

	// report_root: an empty directory has none of the reports: a batch
	// comes back empty, and once 50 samples are served the split fails.
	p := configured(t, "mimic-cxr", cfg("report_root", t.TempDir()))
	b, err := p.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: []int{0, 1}})
	if err != nil || len(b.IDs) != 0 {
		t.Fatalf("reports looked up elsewhere: %v, err = %v", b, err)
	}
	all := make([]int, splitLen(t, p, "train"))
	for i := range all {
		all[i] = i
	}
	for range minSeen/len(all) + 1 {
		_, err = p.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: all})
	}
	if err == nil || !strings.Contains(err.Error(), ".txt") {
		t.Errorf("reports looked up elsewhere: err = %v", err)
	}
}

func TestChexpertOptions(t *testing.T) {
	root := filepath.Join(shared(t), "CheXpert-v1.0-small")
	pneumonia := func(extra map[string]any) []float32 {
		cfg := map[string]any{"root": root, "image_size": 16, "labels": []any{"Pneumonia", "Cardiomegaly"}}
		for k, v := range extra {
			cfg[k] = v
		}
		return labelColumn(t, configured(t, "chexpert", cfg), "train", 0)
	}
	ones, _ := counts(pneumonia(map[string]any{"policy": map[string]any{"Pneumonia": "ones"}}))
	zeros, zn := counts(pneumonia(map[string]any{"policy": map[string]any{"Pneumonia": "zeros"}}))
	_, nans := counts(pneumonia(map[string]any{"policy": map[string]any{"Pneumonia": "ignore"}}))
	byDefault, _ := counts(pneumonia(map[string]any{"policy": map[string]any{}, "default_policy": "ones"}))
	if ones == 0 || ones <= zeros || zn != 0 || nans != ones-zeros || byDefault != ones {
		t.Errorf("Pneumonia positives: ones %d, zeros %d, ignored %d, default_policy ones %d", ones, zeros, nans, byDefault)
	}

	all := splitLen(t, configured(t, "chexpert", map[string]any{"root": root}), "train")
	frontal := splitLen(t, configured(t, "chexpert", map[string]any{"root": root, "frontal_only": true}), "train")
	if frontal == 0 || frontal >= all {
		t.Errorf("frontal_only: %d of %d images", frontal, all)
	}

	// csv: another index file in CheXpert's format.
	b, err := os.ReadFile(filepath.Join(root, "train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	sub := filepath.Join(root, "subset-"+t.Name()+".csv")
	if err := os.WriteFile(sub, []byte(strings.Join(lines[:4], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sub) })
	if n := splitLen(t, configured(t, "chexpert", map[string]any{"root": root, "csv": filepath.Base(sub)}), "train"); n != 3 {
		t.Errorf("csv with 3 rows: %d images", n)
	}

	// parent_root: paths resolved as written against the folder above.
	if n := splitLen(t, configured(t, "chexpert", map[string]any{"root": root, "parent_root": filepath.Dir(root)}), "train"); n != all {
		t.Errorf("parent_root: %d images, want %d", n, all)
	}
}

func TestOtherReaderOptions(t *testing.T) {
	dir := shared(t)
	rsna := filepath.Join(dir, "RSNA")
	if def, big := splitLen(t, configured(t, "rsna", map[string]any{"root": rsna}), "train"),
		splitLen(t, configured(t, "rsna", map[string]any{"root": rsna, "test_frac": 0.0, "holdout_frac": 0.0}), "train"); big <= def {
		t.Errorf("rsna test_frac 0, holdout_frac 0: %d patients, default %d", big, def)
	}

	covidx := filepath.Join(dir, "COVIDx")
	for variant, k := range map[string]int{"binary": 1, "three-class": 3} {
		info, err := configured(t, "covidx", map[string]any{"root": covidx, "variant": variant}).Describe(context.Background(), "train")
		if err != nil || len(info.LabelNames) != k {
			t.Errorf("covidx %s: %+v %v", variant, info, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(covidx, "train.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(covidx, "mini.txt"), []byte(strings.Join(strings.SplitAfter(string(b), "\n")[:2], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(covidx, "mini.txt")) })
	if n := splitLen(t, configured(t, "covidx", map[string]any{"root": covidx, "file": "mini.txt"}), "train"); n != 2 {
		t.Errorf("covidx file with 2 rows: %d", n)
	}

	mura := filepath.Join(dir, "MURA-v1.1")
	all := splitLen(t, configured(t, "mura", map[string]any{"root": mura}), "train")
	wrist := splitLen(t, configured(t, "mura", map[string]any{"root": mura, "body_parts": []any{"XR_WRIST", "XR_HAND"}}), "train")
	if wrist == 0 || wrist >= all {
		t.Errorf("mura body_parts: %d of %d images", wrist, all)
	}

	def := splitLen(t, configured(t, "chexpert-8x200", map[string]any{"root": dir}), "image-query")
	if n := splitLen(t, configured(t, "chexpert-8x200", map[string]any{"root": dir, "dir": filepath.Join(dir, "convirt-retrieval")}), "image-query"); n != def || n == 0 {
		t.Errorf("explicit dir: %d queries, default %d", n, def)
	}
	empty := t.TempDir()
	if _, err := configured(t, "chexpert-8x200", map[string]any{"root": dir, "dir": empty}).Describe(context.Background(), "image-query"); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("dir without the files: err = %v", err)
	}
}

// TestUnknownKeysRejected: each plugin's schema (as `recipe validate`
// checks it) and Configure refuse keys that are not its own, the split,
// and other readers' options.
func TestUnknownKeysRejected(t *testing.T) {
	ctx := context.Background()
	for _, d := range catalog.All() {
		p := New(d.Name, d.Doc)
		info, err := p.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range d.Fields {
			if isCommon(f.Name) {
				t.Errorf("%s: reader key %s shadows a common key", d.Name, f.Name)
			}
		}
		for _, key := range []string{"bogus", "split", "sections", "text_column"} {
			cfg := map[string]any{"root": "/data", key: "x"}
			issues := info.Schema.Check("", cfg)
			if len(issues) != 1 || issues[0].Path != key {
				t.Errorf("%s: schema check of %s: %v", d.Name, key, issues)
			}
			if err := p.Configure(ctx, cfg); err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s: Configure with %s: %v", d.Name, key, err)
			}
		}
		if d.Name != "mimic-cxr" {
			if issues := info.Schema.Check("", map[string]any{"root": "/data", "views": []any{"PA"}}); len(issues) != 1 {
				t.Errorf("%s accepts mimic-cxr's views: %v", d.Name, issues)
			}
		}
		full := map[string]any{"root": "/data"}
		info.Schema.ApplyDefaults("", full)
		if issues := info.Schema.Check("", full); len(issues) != 0 {
			t.Errorf("%s: schema defaults rejected by the schema: %v", d.Name, issues)
		}
		if err := p.Configure(ctx, full); err != nil {
			t.Errorf("%s: schema defaults rejected by Configure: %v", d.Name, err)
		}
		ok := map[string]any{"root": "/data", "max_bad_fraction": 0.1, "augment": map[string]any{"rotation": 5}}
		if issues := info.Schema.Check("", ok); len(issues) != 0 {
			t.Errorf("%s: common keys rejected: %v", d.Name, issues)
		}
		bad := map[string]any{"root": "/data", "augment": map[string]any{"rotate": 5}}
		if issues := info.Schema.Check("", bad); len(issues) != 1 || issues[0].Path != "augment.rotate" {
			t.Errorf("%s: augment.rotate: %v", d.Name, issues)
		}
	}
	if err := New("chexpert", "").Configure(ctx, map[string]any{"root": "/data", "policy": map[string]any{"Edema": "sometimes"}}); err == nil || !strings.Contains(err.Error(), "policy.Edema") {
		t.Errorf("bad policy value: %v", err)
	}
}

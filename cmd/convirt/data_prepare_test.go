package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/prepare"
	"github.com/convirt/convirt/plugins/datasets/synth"
)

func TestDataPrepareCLI(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(context.Background(), dir, synth.Config{Studies: 10, Size: 48, Seed: 1, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "MIMIC-CXR")

	// Interrupted before any work: no manifest, and a hint to resume.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"data", "prepare", "--dataset", "mimic-cxr", "--root", root, "--size", "32"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "run the same command again to resume") {
		t.Fatalf("interrupted: code %d, stderr %s", code, errb.String())
	}
	if _, err := prepare.Open("", root, 32); err == nil {
		t.Fatal("interrupted prepare left a complete cache")
	}

	code, stdout, stderr := runCLI(t, "data", "prepare", "--dataset", "mimic-cxr", "--root", root, "--size", "32", "--workers", "1")
	if code != 0 || !strings.Contains(stdout, "converted") || !strings.Contains(stdout, "0 failed") {
		t.Fatalf("prepare: code %d\n%s\n%s", code, stdout, stderr)
	}
	m, err := prepare.ReadManifest(filepath.Join(root, prepare.DirName, "32"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Count == 0 || len(m.Datasets["mimic-cxr"]) != 3 {
		t.Fatalf("manifest: %d images, splits %v", m.Count, m.Datasets)
	}

	// Again: everything is reused.
	code, stdout, stderr = runCLI(t, "data", "prepare", "--dataset", "mimic-cxr", "--root", root, "--size", "32", "--json")
	var res prepare.Result
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("rerun: code %d\n%s\n%s", code, stdout, stderr)
	}
	if res.Converted != 0 || res.Reused != m.Count || res.Images != m.Count {
		t.Fatalf("rerun: %+v, manifest count %d", res, m.Count)
	}

	// One split into another folder.
	out2 := filepath.Join(dir, "cache")
	code, stdout, stderr = runCLI(t, "data", "prepare", "--dataset", "mimic-cxr", "--root", root, "--split", "test", "--size", "24", "--out", out2)
	if code != 0 {
		t.Fatalf("--out: code %d\n%s\n%s", code, stdout, stderr)
	}
	if m2, err := prepare.ReadManifest(filepath.Join(out2, "24")); err != nil || m2.Count == 0 || m2.Count >= m.Count {
		t.Fatalf("--split test --out: %v (%d of %d images)", err, m2.Count, m.Count)
	}

	for _, args := range [][]string{
		{"data", "prepare", "--root", root},
		{"data", "prepare", "--dataset", "nope", "--root", root},
		{"data", "prepare", "--dataset", "mimic-cxr", "--root", root, "--size", "4"},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Fatalf("%v: code %d, want 2", args, code)
		}
	}
	if code, _, stderr := runCLI(t, "data", "prepare", "--dataset", "mimic-cxr", "--root", root, "--split", "bogus"); code != 1 || !strings.Contains(stderr, "bogus") {
		t.Fatalf("unknown split: code %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, prepare.DirName, "32", "progress.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("journal left behind: %v", err)
	}
}

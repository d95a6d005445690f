package datasetplugin

import (
	"context"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/convirt/convirt/plugins/sdk"
)

// pairedRoot writes PNG radiographs and files into a fresh root.
func pairedRoot(t *testing.T, files map[string]string, images ...string) string {
	t.Helper()
	root := t.TempDir()
	for i, name := range images {
		f, err := os.Create(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		err = png.Encode(f, synth.RenderBone(rand.New(rand.NewPCG(uint64(i), 1)), 24, i%2 == 0))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestPairedCustomColumns(t *testing.T) {
	ctx := context.Background()
	csv := "study,file,findings,fold\n" +
		"1,a.png;b.png,\"FINDINGS: Fracture of the distal radius.\nIMPRESSION: Fracture.\",train\n" +
		"2,c.png,FINDINGS: Normal wrist.,train\n" +
		"3,d.png,FINDINGS: Hardware in the ulna.,test\n"
	root := pairedRoot(t, map[string]string{"bone.csv": csv}, "a.png", "b.png", "c.png", "d.png")
	cfg := map[string]any{"root": root, "image_size": 16, "csv": "bone.csv", "text_sampling": "report",
		"image_column": "file", "report_column": "findings", "split_column": "fold"}
	p := configured(t, "paired", cfg)
	if n := splitLen(t, p, "train"); n != 3 {
		t.Errorf("train: %d images, want 3 (a row with two)", n)
	}
	if n := splitLen(t, p, "test"); n != 1 {
		t.Errorf("test: %d images, want 1", n)
	}
	b, err := p.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: []int{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Fracture of the distal radius. Fracture.", "Fracture of the distal radius. Fracture.", "Normal wrist."}
	if !reflect.DeepEqual(b.Texts, want) || !reflect.DeepEqual(b.Images.Shape, []int64{3, 1, 16, 16}) {
		t.Errorf("texts %q, images %v", b.Texts, b.Images.Shape)
	}
	// The default column names do not fit this file.
	if _, err := configured(t, "paired", map[string]any{"root": root, "csv": "bone.csv"}).Describe(ctx, "train"); err == nil || !strings.Contains(err.Error(), `"image"`) {
		t.Errorf("default columns: err = %v", err)
	}
}

func TestPairedReportFilesAndWholeReport(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{
		"pairs.csv": "img,txt\na.png,r1.txt\nb.png,r2.txt\n",
		"r1.txt":    "Wrist, two views.\n\nNo fracture.\n",
		"r2.txt":    "FINDINGS: Healed fracture.\n",
	}
	root := pairedRoot(t, files, "a.png", "b.png")
	texts := func(whole bool) []string {
		p := configured(t, "paired", map[string]any{"root": root, "image_size": 16, "image_column": "img",
			"report_file_column": "txt", "whole_report": whole, "text_sampling": "report"})
		b, err := p.Batch(ctx, sdk.BatchRequest{Split: "", Indices: []int{0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		return b.Texts
	}
	if got := texts(false); !reflect.DeepEqual(got, []string{"No fracture.", "Healed fracture."}) {
		t.Errorf("last paragraph: %q", got)
	}
	if got := texts(true); !reflect.DeepEqual(got, []string{"Wrist, two views. No fracture.", "Healed fracture."}) {
		t.Errorf("whole_report: %q", got)
	}
}

package mimic

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/datasets/synth"
)

func TestOpenAndBadReports(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(context.Background(), dir, synth.Config{Studies: 30, Seed: 2, Size: 16}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "MIMIC-CXR")
	s, err := Open(root, Config{Labels: []string{"Cardiomegaly", "Pleural Effusion"}})
	if err != nil || s.Len() < 20 {
		t.Fatal(err, s.Len())
	}
	all, _ := Open(root, Config{Views: []string{"AP", "PA", "LATERAL"}})
	if all.Len() <= s.Len() {
		t.Fatalf("view filter: %d frontal, %d with laterals", s.Len(), all.Len())
	}
	ex, err := s.Example(0)
	if err != nil || len(ex.Texts) == 0 || len(ex.Labels) != 2 {
		t.Fatalf("%+v %v", ex, err)
	}
	for i, body := range []string{"", "FINDINGS: \xff\xfe", "FINAL REPORT\n\n"} {
		if err := os.WriteFile(s.Examples[i].Report, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Example(i); err == nil || !strings.Contains(err.Error(), ".txt") {
			t.Fatalf("bad report %q: %v", body, err)
		}
	}
	os.Remove(s.Examples[3].Report)
	if _, err := s.Example(3); err == nil {
		t.Fatal("missing report accepted")
	}
	var _ source.Source = s
}

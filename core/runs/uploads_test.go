package runs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestUploads(t *testing.T) {
	r, err := Create(t.TempDir(), "e", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ResolvedFile, ReportFile, ResultsFile, TablesFile, "plots/loss.png", "plots/roc/a.png",
		"artifacts/model/config.json", "plots/.loss.png.tmp-123", "checkpoints/step-2.pt", "predictions/p.csv"} {
		if err := r.WriteFileAtomic(f, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	// A link out of the run and a directory link are not followed.
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret"), 0o600)
	os.Symlink(secret, r.Path(PlotsDir, "evil.png"))
	os.Symlink(filepath.Dir(secret), r.Path(ArtifactsDir, "outside"))

	ups, err := Uploads(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range ups {
		names = append(names, u.Name)
		if b, err := os.ReadFile(u.Path); err != nil || filepath.Dir(u.Path) == filepath.Dir(secret) {
			t.Errorf("%s: %s: %v", u.Name, u.Path, err)
		} else if rel, _ := filepath.Rel(r.Dir(), u.Path); string(b) != filepath.ToSlash(rel) {
			t.Errorf("%s: path %s holds %q", u.Name, u.Path, b)
		}
	}
	want := []string{ReportFile, ResultsFile, TablesFile, ResolvedFile, "plots/loss.png", "plots/roc/a.png", "model/config.json"}
	if !slices.Equal(names, want) {
		t.Errorf("uploads %q, want %q", names, want)
	}

	// A fresh run has nothing to upload; a run without plots/ is fine too.
	r2, _ := Create(t.TempDir(), "e", Options{})
	os.Remove(r2.Path(PlotsDir))
	if ups, err := Uploads(r2.Dir()); err != nil || len(ups) != 0 {
		t.Errorf("empty run: %v %v", ups, err)
	}
}

package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/registry"
)

// serveDirOf serves the directory of path (a published index and its
// binaries) over HTTP until the test ends.
func serveDirOf(t *testing.T, path string) *httptest.Server {
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(path))))
	t.Cleanup(srv.Close)
	return srv
}

// published installs the test binary as the "scale" plugin and publishes it
// into an index in a fresh directory; it returns the index path and the
// plugin's manifest.
func published(t *testing.T) (indexPath string, m registry.Manifest) {
	t.Helper()
	t.Setenv(plugintest.EnvMode, plugintest.ModeScale) // what every installed copy serves
	src, _ := registry.Open(t.TempDir())
	m, err := src.Install(context.Background(), os.Args[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	indexPath = filepath.Join(t.TempDir(), "pub", "index.json")
	added, err := src.Publish(indexPath, nil)
	if err != nil || len(added) != 1 {
		t.Fatalf("Publish = %+v, %v", added, err)
	}
	return indexPath, m
}

// editIndex rewrites the index file at path with edit.
func editIndex(t *testing.T, path string, edit func(*registry.Index)) {
	t.Helper()
	ix, err := registry.ReadIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(ix)
	b, _ := json.Marshal(ix)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPublishWritesARelocatableIndex(t *testing.T) {
	path, m := published(t)
	ix, err := registry.ReadIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Plugins) != 1 {
		t.Fatalf("index %+v", ix)
	}
	e := ix.Plugins[0]
	a, err := e.Artifact(registry.Platform())
	if err != nil || e.Ref() != "scale@1.2.3" || e.Kind != sdk.KindEncoder || e.ProtocolVersion != sdk.ProtocolVersion || a.SHA256 != m.SHA256 || filepath.IsAbs(a.URL) {
		t.Fatalf("entry %+v, artifact %+v, %v", e, a, err)
	}
	if sum, err := host.FileSHA256(filepath.Join(filepath.Dir(path), filepath.FromSlash(a.URL))); err != nil || sum != m.SHA256 {
		t.Fatalf("published binary: sha256 %s, %v", sum, err)
	}
	// Publishing again changes nothing; another binary under the same
	// version is refused.
	src := &registry.Registry{Dir: filepath.Dir(filepath.Dir(m.Binary))}
	if _, err := src.Publish(path, []string{"scale"}); err != nil {
		t.Fatalf("republish: %v", err)
	}
	editIndex(t, path, func(ix *registry.Index) {
		p := ix.Plugins[0].Platforms[registry.Platform()]
		p.SHA256 = sumA
		ix.Plugins[0].Platforms[registry.Platform()] = p
	})
	if _, err := src.Publish(path, []string{"scale"}); err == nil || !strings.Contains(err.Error(), sumA) || !strings.Contains(err.Error(), m.SHA256) || !strings.Contains(err.Error(), "bump the plugin's version") {
		t.Fatalf("publishing a changed binary under a published version: %v", err)
	}
	// A binary changed since install is not published.
	if err := os.WriteFile(m.Binary, []byte("tampered"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Publish(filepath.Join(t.TempDir(), "index.json"), nil); !errors.Is(err, registry.ErrMismatch) {
		t.Fatalf("publishing a tampered binary: %v", err)
	}
}

func TestInstallFromIndexOverHTTPAndFiles(t *testing.T) {
	path, m := published(t)
	srv := serveDirOf(t, path)
	ctx := context.Background()
	for _, loc := range []string{srv.URL + "/index.json", path, "file://" + filepath.ToSlash(path)} {
		t.Run(loc, func(t *testing.T) {
			reg, _ := registry.Open(t.TempDir())
			ix, err := reg.ReadIndex(ctx, loc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := reg.InstallFromIndex(ctx, ix, "scale", "1.2.3", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != m.SHA256 || got.Version != "1.2.3" || got.Index == "" || !strings.HasSuffix(got.Source, "/scale") {
				t.Fatalf("manifest %+v", got)
			}
			spec, err := reg.Spec("scale")
			if err != nil {
				t.Fatal(err)
			}
			enc, err := host.StartEncoder(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			enc.Close()
			if _, err := reg.InstallFromIndex(ctx, ix, "scale", "", nil); err != nil { // newest
				t.Fatal(err)
			}
			leftovers, _ := filepath.Glob(filepath.Join(reg.Dir, ".download-*"))
			if len(leftovers) != 0 {
				t.Errorf("downloads left behind: %v", leftovers)
			}
		})
	}
}

func TestInstallFromIndexRefuses(t *testing.T) {
	path, m := published(t)
	srv := serveDirOf(t, path)
	ctx := context.Background()
	plat := registry.Platform()
	try := func(t *testing.T, edit func(*registry.Index)) (*registry.Registry, error) {
		t.Helper()
		editIndex(t, path, edit)
		reg, _ := registry.Open(t.TempDir())
		ix, err := reg.ReadIndex(ctx, srv.URL+"/index.json")
		if err != nil {
			t.Fatal(err)
		}
		_, err = reg.InstallFromIndex(ctx, ix, "scale", "1.2.3", nil)
		if list, _ := reg.List(); len(list) != 0 {
			t.Errorf("a refused install left %+v", list)
		}
		return reg, err
	}
	t.Run("wrong sha256", func(t *testing.T) {
		_, err := try(t, func(ix *registry.Index) {
			ix.Plugins[0].Platforms[plat] = registry.Artifact{URL: ix.Plugins[0].Platforms[plat].URL, SHA256: sumB}
		})
		if !errors.Is(err, registry.ErrMismatch) || !strings.Contains(err.Error(), m.SHA256) || !strings.Contains(err.Error(), sumB) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("binary is another version", func(t *testing.T) {
		_, err := try(t, func(ix *registry.Index) {
			ix.Plugins[0].Platforms[plat] = registry.Artifact{URL: ix.Plugins[0].Platforms[plat].URL, SHA256: m.SHA256}
			ix.Plugins[0].Version = "1.2.3"
			ix.Plugins[0].Kind = sdk.KindLoss
		})
		if err == nil || !strings.Contains(err.Error(), "the index lists scale@1.2.3 (loss) but the binary is scale@1.2.3 (encoder)") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("other protocol", func(t *testing.T) {
		_, err := try(t, func(ix *registry.Index) { ix.Plugins[0].Kind, ix.Plugins[0].ProtocolVersion = sdk.KindEncoder, 7 })
		if err == nil || !strings.Contains(err.Error(), "speaks plugin protocol 7") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		_, err := try(t, func(ix *registry.Index) {
			ix.Plugins[0].ProtocolVersion = sdk.ProtocolVersion
			ix.Plugins[0].Platforms[plat] = registry.Artifact{URL: "nowhere/scale", SHA256: m.SHA256}
		})
		if err == nil || !strings.Contains(err.Error(), "404 Not Found") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestInstallURL(t *testing.T) {
	path, m := published(t)
	ix, _ := registry.ReadIndexFile(path)
	a, _ := ix.Plugins[0].Artifact(registry.Platform())
	srv := serveDirOf(t, path)
	ctx := context.Background()
	reg, _ := registry.Open(t.TempDir())
	url := srv.URL + "/" + a.URL
	if _, err := reg.InstallURL(ctx, url, "", nil); err == nil || !strings.Contains(err.Error(), "known checksum") {
		t.Fatalf("no sha256: %v", err)
	}
	_, err := reg.InstallURL(ctx, url, sumA, nil)
	if !errors.Is(err, registry.ErrMismatch) || !strings.Contains(err.Error(), sumA) || !strings.Contains(err.Error(), m.SHA256) {
		t.Fatalf("wrong sha256: %v", err)
	}
	got, err := reg.InstallURL(ctx, url, strings.ToUpper(m.SHA256), nil)
	if err != nil || got.SHA256 != m.SHA256 || got.Source != url || got.Name != "scale" {
		t.Fatalf("InstallURL = %+v, %v", got, err)
	}
}

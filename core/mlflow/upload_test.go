package mlflow

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convirt/convirt/core/mlflow/mlflowtest"
)

// Uploads say their length: every PUT carries the file's size as
// Content-Length and no chunked transfer encoding (the fake server refuses
// those with 411, as proxies in front of MLflow may), an empty file
// included. Something that is not a regular file is refused by name
// instead of being streamed.
func TestUploadCarriesContentLength(t *testing.T) {
	f := mlflowtest.NewServer(t)
	var mu sync.Mutex
	lengths := map[string]int64{}
	f.SetInject(func(r *http.Request) int {
		if r.Method == http.MethodPut {
			mu.Lock()
			lengths[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]] = r.ContentLength
			mu.Unlock()
		}
		return mlflowtest.Proceed
	})
	c := testClient(t, f.URL, nil)
	ctx := context.Background()
	info, err := c.CreateRun(ctx, "0", "r", time.Unix(1, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{"big.bin": strings.Repeat("x", 1<<20+3), "empty.txt": ""}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := c.UploadArtifact(ctx, info.ArtifactURI, name, p); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
	}
	arts := f.Artifacts()
	for name, content := range files {
		if got := string(arts["0/"+info.RunID+"/artifacts/"+name]); got != content {
			t.Errorf("%s: stored %d bytes, want %d", name, len(got), len(content))
		}
		mu.Lock()
		n, ok := lengths[name]
		mu.Unlock()
		if !ok || n != int64(len(content)) {
			t.Errorf("%s: Content-Length %d (sent: %v), want %d", name, n, ok, len(content))
		}
	}
	err = c.UploadArtifact(ctx, info.ArtifactURI, "null", os.DevNull)
	if err == nil || !strings.Contains(err.Error(), os.DevNull) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("upload of %s: %v", os.DevNull, err)
	}
}

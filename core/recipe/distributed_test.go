package recipe

import (
	"strings"
	"testing"
	"time"
)

// TestDistributedKeys: the section decodes with its defaults, and what a
// build cannot do or a value cannot mean is refused at its key.
func TestDistributedKeys(t *testing.T) {
	r, err := Parse("r.yaml", []byte(baseRecipe), Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Distributed; d.Replicas != 1 || d.Backend != "gloo" || d.Timeout != "5m" {
		t.Errorf("defaults %+v, want 1 replica, gloo, 5m", d)
	}
	r, err = Parse("r.yaml", []byte(baseRecipe+"distributed: {replicas: 2, timeout: 90s}\n"), Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := r.Distributed.TimeoutDuration(); r.Distributed.Replicas != 2 || err != nil || d != 90*time.Second {
		t.Errorf("got %+v (%v, %v)", r.Distributed, d, err)
	}
	for _, c := range []struct{ yaml, path, want string }{
		{"distributed: {backend: nccl}", "distributed.backend", "nccl is not available"},
		{"distributed: {backend: mpi}", "distributed.backend", ""},
		{"distributed: {replicas: 0}", "distributed.replicas", ""},
		{"distributed: {timeout: soon}", "distributed.timeout", ""},
		{"distributed: {timeout: 0s}", "distributed.timeout", "positive"},
	} {
		_, err := Parse("r.yaml", []byte(baseRecipe+c.yaml+"\n"), Options{Getenv: env(nil)})
		if err == nil || !strings.Contains(err.Error(), "key "+c.path+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error at %s saying %q", c.yaml, err, c.path, c.want)
		}
	}
}

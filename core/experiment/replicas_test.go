package experiment

import (
	"strings"
	"testing"
)

// TestNodesFromEnv: torchrun's variables place the run; without them it is
// the only one; a bad value is named.
func TestNodesFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	if n, err := nodesFromEnv(env()); err != nil || n.world != 1 {
		t.Errorf("no variables: %+v, %v", n, err)
	}
	good := []string{"WORLD_SIZE", "2", "RANK", "1", "MASTER_ADDR", "node0", "MASTER_PORT", "29500", "LOCAL_RANK", "0"}
	if n, err := nodesFromEnv(env(good...)); err != nil || n != (nodes{world: 2, rank: 1, addr: "node0", port: 29500}) {
		t.Errorf("two nodes: %+v, %v", n, err)
	}
	for _, c := range []struct{ key, value, want string }{
		{"WORLD_SIZE", "x", "WORLD_SIZE"},
		{"RANK", "2", "RANK \"2\": want 0 to 1"},
		{"LOCAL_RANK", "1", "one convirt run per node"},
		{"MASTER_ADDR", "", "MASTER_ADDR is unset"},
		{"MASTER_PORT", "65535", "MASTER_PORT"},
	} {
		kv := append([]string{}, good...)
		for i := 0; i < len(kv); i += 2 {
			if kv[i] == c.key {
				kv[i+1] = c.value
			}
		}
		if _, err := nodesFromEnv(env(kv...)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: got %v, want an error saying %q", c.key, c.value, err, c.want)
		}
	}
}

package sdk

import (
	"strings"
	"testing"
	"time"
)

func envOf(entries []string) func(string) string {
	m := map[string]string{}
	for _, e := range entries {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// TestReplicaEnvRoundTrip: what the host writes a replica reads back.
func TestReplicaEnvRoundTrip(t *testing.T) {
	for _, r := range []Replica{
		{Rank: 1, World: 2, Store: "127.0.0.1:29500", Timeout: 90 * time.Second},
		{Rank: 3, World: 4, Store: "node0:29500", Timeout: time.Minute, Gather: true},
		{Rank: 0, World: 2, Store: "127.0.0.1:1", Timeout: time.Second, BucketBytes: 4096, NoOverlap: true},
		{Rank: 1, World: 2, Store: "node0:29500", Timeout: time.Minute, Gather: true, Generation: 3},
	} {
		got, ok, err := ReplicaFromEnv(envOf(r.Env()))
		if err != nil || !ok || got != r {
			t.Fatalf("got %+v, %v, %v; want %+v", got, ok, err, r)
		}
	}
	if _, ok, err := ReplicaFromEnv(envOf(nil)); ok || err != nil {
		t.Errorf("empty environment: ok %v, err %v; want not a replica", ok, err)
	}
}

// TestReplicaFromEnvRefuses: a malformed variable is named.
func TestReplicaFromEnvRefuses(t *testing.T) {
	good := Replica{Rank: 0, World: 2, Store: "h:1", Timeout: time.Second}.Env()
	for _, c := range []struct{ set, want string }{
		{EnvReplicaWorld + "=two", EnvReplicaWorld},
		{EnvReplicaRank + "=", EnvReplicaRank},
		{EnvReplicaRank + "=2", "rank 2 of 2"},
		{EnvReplicaStore + "=nohost", `store "nohost"`},
		{EnvReplicaTimeout + "=soon", EnvReplicaTimeout},
		{EnvReplicaTimeout + "=0s", "timeout 0s"},
		{EnvReplicaGather + "=maybe", EnvReplicaGather},
		{EnvReplicaBucketBytes + "=1MiB", EnvReplicaBucketBytes},
		{EnvReplicaBucketBytes + "=-1", "bucket size -1"},
		{EnvReplicaNoOverlap + "=perhaps", EnvReplicaNoOverlap},
		{EnvReplicaGeneration + "=first", EnvReplicaGeneration},
		{EnvReplicaGeneration + "=-1", "generation -1"},
	} {
		_, _, err := ReplicaFromEnv(envOf(append(append([]string{}, good...), c.set)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.set, err, c.want)
		}
	}
}

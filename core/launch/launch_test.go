package launch

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/registry"
)

func init() {
	builtin.RegisterEncoder("launch-scale", func() sdk.Encoder { return &plugintest.Scale{Name: "launch-scale"} })
	builtin.RegisterLoss("launch-dot", func() sdk.Loss { return plugintest.Dot{Name: "launch-dot"} })
}

func TestMain(m *testing.M) {
	plugintest.Main()
	os.Exit(m.Run())
}

// launcher starts this test binary's built-ins, as cmd/convirt's launcher
// starts convirt's.
func launcher(t *testing.T) *Launcher {
	return &Launcher{
		Registry: &registry.Registry{Dir: t.TempDir(), Builtins: plugintest.Builtins()},
		Exe:      os.Args[0],
	}
}

// TestStartsBuiltinsAndRecordsThem: a built-in named by a recipe is started
// in its own process, configured, and recorded (kind, version, built-in)
// for the run's environment.
func TestStartsBuiltinsAndRecordsThem(t *testing.T) {
	ctx := context.Background()
	l := launcher(t)
	enc, err := l.Encoder(ctx, "launch-scale", map[string]any{"scale": 2.0})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	mark := l.Mark() // a second run of a sweep begins here
	loss, err := l.Loss(ctx, "launch-dot", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer loss.Close()
	got := l.Started()
	want := []Started{
		{Name: "launch-dot", Kind: "loss", Version: "0.1.0", BuiltIn: true},
		{Name: "launch-scale", Kind: "encoder", Version: "1.2.3", BuiltIn: true},
	}
	names := func(ss []Started) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	if len(got) != len(want) || got[0].Name != want[0].Name || got[0].Kind != want[0].Kind || got[0].Version != want[0].Version ||
		got[1].Name != want[1].Name || got[1].Kind != want[1].Kind || got[1].Version != want[1].Version || !got[0].BuiltIn || !got[1].BuiltIn {
		t.Errorf("Started = %+v, want %+v", got, want)
	}
	env := l.EnvEntries(0)
	if env["plugin.launch-scale"] != "encoder 1.2.3 built-in" || env["plugin.launch-dot"] != "loss 0.1.0 built-in" || len(env) != 2 {
		t.Errorf("EnvEntries = %v", env)
	}
	// The run that began at mark started the loss only.
	if since := names(l.StartedSince(mark)); len(since) != 1 || since[0] != "launch-dot" {
		t.Errorf("StartedSince(mark) = %v, want [launch-dot]", since)
	}
	if env := l.EnvEntries(mark); len(env) != 1 || env["plugin.launch-dot"] == "" {
		t.Errorf("EnvEntries(mark) = %v", env)
	}
	// A plugin started again after a mark is that run's too.
	mark = l.Mark()
	enc2, err := l.Encoder(ctx, "launch-scale", map[string]any{"scale": 3.0})
	if err != nil {
		t.Fatal(err)
	}
	defer enc2.Close()
	if since := names(l.StartedSince(mark)); len(since) != 1 || since[0] != "launch-scale" {
		t.Errorf("StartedSince(second mark) = %v, want [launch-scale]", since)
	}
}

// TestRefusals: a config key the plugin's schema lacks, a plugin of
// another kind and an unknown name are errors naming the plugin and what
// is wrong, and nothing is recorded as started.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	l := launcher(t)
	if _, err := l.Encoder(ctx, "launch-scale", map[string]any{"scael": 2.0}); err == nil ||
		!strings.Contains(err.Error(), "scael") || !strings.Contains(err.Error(), `did you mean "scale"?`) {
		t.Errorf("misspelt key: got %v", err)
	}
	if _, err := l.Loss(ctx, "launch-scale", nil); err == nil ||
		!strings.Contains(err.Error(), `plugin "launch-scale" is a encoder plugin, not a loss plugin`) {
		t.Errorf("wrong kind: got %v", err)
	}
	if _, err := l.Dataset(ctx, "launch-missing", nil); err == nil ||
		!strings.Contains(err.Error(), `dataset plugin "launch-missing"`) {
		t.Errorf("unknown name: got %v", err)
	}
	// An unknown name is answered with the known plugins of its kind.
	if _, err := l.Encoder(ctx, "builtin-scal", nil); err == nil ||
		!strings.Contains(err.Error(), `encoder plugin "builtin-scal" is neither built in nor installed`) ||
		!strings.Contains(err.Error(), `(did you mean "builtin-scale"?); known encoder plugins: builtin-scale`) {
		t.Errorf("misspelt name: got %v", err)
	}
	if got := strings.Join(l.Names("loss"), " "); got != "builtin-dot launch-dot" {
		t.Errorf("Names(loss) = %v, want the built-in losses of this test binary", got)
	}
	if s := l.Started(); len(s) != 0 {
		t.Errorf("Started after refusals = %+v", s)
	}
}

// TestSchema: the recipe loader's lookup gives a built-in's schema from its
// Info, and reports an unknown name as absent; a launcher without a
// registry knows no plugin.
func TestSchema(t *testing.T) {
	l := launcher(t)
	s, ok := l.Schema("launch-scale")
	if !ok || len(s.Fields) != 2 || s.Fields[0].Name != "scale" || s.Fields[1].Name != "lr" {
		t.Errorf("Schema(launch-scale) = %+v, %v", s, ok)
	}
	if _, ok := l.Schema("launch-missing"); ok {
		t.Error("Schema found a plugin that is not there")
	}
	if _, ok := (&Launcher{}).Schema("launch-scale"); ok {
		t.Error("a launcher without a registry found a plugin")
	}
}

// TestThreads reads the "threads" key as YAML and JSON decode it.
func TestThreads(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]any
		want int
	}{
		{map[string]any{"threads": 4}, 4},
		{map[string]any{"threads": int64(3)}, 3},
		{map[string]any{"threads": 2.0}, 2},
		{map[string]any{"threads": "8"}, 0},
		{map[string]any{}, 0},
		{nil, 0},
	} {
		if got := threads(c.cfg); got != c.want {
			t.Errorf("threads(%v) = %d, want %d", c.cfg, got, c.want)
		}
	}
}

// TestIssuesError joins schema issues into one message with suggestions.
func TestIssuesError(t *testing.T) {
	if err := issuesError(nil); err != nil {
		t.Errorf("no issues: %v", err)
	}
	err := issuesError([]schema.Issue{
		{Path: "config.scael", Message: "unknown key", Suggestion: "scale"},
		{Path: "config.lr", Message: "must be at least 0"},
	})
	want := `config.scael: unknown key (did you mean "scale"?); config.lr: must be at least 0`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

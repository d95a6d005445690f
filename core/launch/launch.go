// Package launch starts the plugins a recipe names. It resolves each name to
// a built-in (served by the convirt executable, as the registry it is given
// says) or an installed plugin (from
// the registry, checksum verified), starts it under core/host's supervision
// with its logs going to the run's log, validates its config against the
// schema the plugin reports, and configures it. It also answers the
// recipe loader's schema lookups, so a recipe is checked against the same
// plugins the run will start.
package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/registry"
)

// Launcher starts plugins by name.
type Launcher struct {
	// Registry finds the built-in plugins (Registry.Builtins, which
	// cmd/convirt hands in) and the installed ones; nil finds none.
	Registry *registry.Registry
	// Exe serves built-ins; "" means the running executable.
	Exe string
	// Log receives every plugin's log lines; nil discards them.
	Log io.Writer
	// Env is added to every plugin's environment.
	Env []string

	mu      sync.Mutex
	started map[string]Started
	starts  int // plugins started so far: Mark
	schemas map[string]schema.Schema
}

// Started records one plugin the launcher started: enough to repeat the
// run with the same binaries.
type Started struct {
	Name, Kind, Version string
	SHA256              string // empty for built-ins
	BuiltIn             bool
	seq                 int // the launcher's count of starts when this one began
}

// spec returns how to start name.
func (l *Launcher) spec(name string) (host.Spec, error) {
	s, err := l.registry().Spec(name)
	if err != nil {
		return s, err
	}
	s.Exe, s.Log, s.Env = l.Exe, l.Log, l.Env
	s.CheckConfig = func(sc schema.Schema, cfg map[string]any) error {
		return issuesError(sc.Check("config", cfg))
	}
	return s, nil
}

// registry is l.Registry, or an empty one (no built-ins, no plugin
// directory) when unset.
func (l *Launcher) registry() *registry.Registry {
	if l.Registry == nil {
		return &registry.Registry{}
	}
	return l.Registry
}

// Names returns the names of the known plugins of kind (a recipe kind:
// "encoder", "loss", "dataset", "evaluator"), built in or installed,
// sorted: what an unknown name in a recipe is told to choose from. It is a
// recipe.PluginNames.
func (l *Launcher) Names(kind string) []string {
	names, _ := l.registry().Names(sdk.Kind(kind)) // an unreadable plugin directory: the built-ins
	return names
}

// Schema returns the config schema of the plugin name: a built-in's from its
// Info, an installed one's from its manifest. It is a recipe.PluginLookup.
func (l *Launcher) Schema(name string) (schema.Schema, bool) {
	l.mu.Lock()
	if s, ok := l.schemas[name]; ok {
		l.mu.Unlock()
		return s, true
	}
	l.mu.Unlock()
	m, err := l.registry().Describe(context.Background(), name)
	if err != nil {
		return schema.Schema{}, false
	}
	l.mu.Lock()
	if l.schemas == nil {
		l.schemas = map[string]schema.Schema{}
	}
	l.schemas[name] = m.Schema
	l.mu.Unlock()
	return m.Schema, true
}

// start launches name as kind and configures it with cfg.
func start[T host.Client](ctx context.Context, l *Launcher, name string, kind sdk.Kind, cfg map[string]any, startFn func(context.Context, host.Spec) (T, error)) (T, error) {
	var zero T
	spec, err := l.spec(name)
	var unknown *registry.UnknownPluginError
	if errors.As(err, &unknown) {
		return zero, l.registry().Unknown(name, kind) // the known plugins of this kind
	}
	if err != nil {
		return zero, fmt.Errorf("%s plugin %q: %w", kind, name, err)
	}
	if spec.Kind != "" && spec.Kind != kind {
		return zero, fmt.Errorf("plugin %q is a %s plugin, not a %s plugin", name, spec.Kind, kind)
	}
	if n := threads(cfg); n > 0 {
		spec.Env = append(spec.Env, fmt.Sprintf("OMP_NUM_THREADS=%d", n))
	} else if kind != sdk.KindEncoder {
		// Losses, datasets and evaluators work on small tensors: one
		// thread, so that their sums come out the same on every run.
		spec.Env = append(spec.Env, "OMP_NUM_THREADS=1")
	}
	c, err := startFn(ctx, spec)
	if err != nil {
		return zero, err
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	if err := c.Configure(ctx, cfg); err != nil {
		c.Close()
		return zero, fmt.Errorf("%s plugin %q: configure: %w", kind, name, err)
	}
	info := c.Process().Info()
	l.mu.Lock()
	if l.started == nil {
		l.started = map[string]Started{}
	}
	l.starts++
	l.started[name] = Started{Name: name, Kind: string(kind), Version: info.Version, SHA256: spec.SHA256, BuiltIn: spec.BuiltIn, seq: l.starts}
	l.mu.Unlock()
	return c, nil
}

// Encoder starts and configures an encoder plugin.
func (l *Launcher) Encoder(ctx context.Context, name string, cfg map[string]any) (*host.Encoder, error) {
	return start(ctx, l, name, sdk.KindEncoder, cfg, host.StartEncoder)
}

// Loss starts and configures a loss plugin.
func (l *Launcher) Loss(ctx context.Context, name string, cfg map[string]any) (*host.Loss, error) {
	return start(ctx, l, name, sdk.KindLoss, cfg, host.StartLoss)
}

// Dataset starts and configures a dataset plugin.
func (l *Launcher) Dataset(ctx context.Context, name string, cfg map[string]any) (*host.Dataset, error) {
	return start(ctx, l, name, sdk.KindDataset, cfg, host.StartDataset)
}

// Evaluator starts and configures an evaluator plugin.
func (l *Launcher) Evaluator(ctx context.Context, name string, cfg map[string]any) (*host.Evaluator, error) {
	return start(ctx, l, name, sdk.KindEvaluator, cfg, host.StartEvaluator)
}

// Started lists the plugins started so far, sorted by name.
func (l *Launcher) Started() []Started { return l.StartedSince(0) }

// Mark is a point in the launcher's history of starts: StartedSince(mark)
// lists the plugins started after it. One launcher serves every child run
// of a sweep; each run marks its beginning, so that it reports (and
// records as its provenance) the plugins it started, not its siblings'.
func (l *Launcher) Mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.starts
}

// StartedSince lists the plugins started after mark (Mark), sorted by
// name; a plugin started again since counts.
func (l *Launcher) StartedSince(mark int) []Started {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Started, 0, len(l.started))
	for _, s := range l.started {
		if s.seq > mark {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// threads is a config's "threads" setting, 0 when absent. A plugin whose
// config sets threads also gets OMP_NUM_THREADS in its environment: libtorch
// applies its own thread count to the thread that sets it, but the BLAS
// behind it reads OpenMP's, and with more than one thread some CPU kernels
// sum in a different order from run to run.
func threads(cfg map[string]any) int {
	n, _ := schema.Number(cfg["threads"])
	return int(n)
}

// issuesError joins schema issues into one error, or returns nil.
func issuesError(issues []schema.Issue) error {
	if len(issues) == 0 {
		return nil
	}
	parts := make([]string, 0, len(issues))
	for _, is := range issues {
		m := is.Path + ": " + is.Message
		if is.Suggestion != "" {
			m += fmt.Sprintf(" (did you mean %q?)", is.Suggestion)
		}
		parts = append(parts, m)
	}
	return errors.New(strings.Join(parts, "; "))
}

// EnvEntries returns the plugins started after mark (Mark; 0: all) as run
// environment entries ("plugin.NAME" -> "kind version [sha256]").
func (l *Launcher) EnvEntries(mark int) map[string]string {
	out := map[string]string{}
	for _, s := range l.StartedSince(mark) {
		v := s.Kind + " " + s.Version
		if s.BuiltIn {
			v += " built-in"
		} else if s.SHA256 != "" {
			v += " sha256:" + s.SHA256
		}
		out["plugin."+s.Name] = v
	}
	return out
}

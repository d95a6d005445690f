// Package builtin is the catalogue of plugins compiled into the convirt
// binary. A built-in plugin package registers itself in an init function with
// one call, for example
//
//	func init() { builtin.RegisterLoss("convirt-loss", func() sdk.Loss { return &Loss{} }) }
//
// and is linked into convirt by a blank import in cmd/convirt. cmd/convirt
// hands the catalogue (List) to the registry and the host as a value, with
// the command line that serves one built-in (`convirt plugin serve NAME`);
// neither looks it up here. Each built-in runs in its own process, whose
// body is Serve.
package builtin

import (
	"fmt"
	"sort"
	"sync"

	"github.com/convirt/convirt/plugins/sdk"
)

// Entry is one registered built-in plugin.
type Entry struct {
	Name string
	Kind sdk.Kind
	make func() sdk.ServeConfig
}

// New returns a fresh, unconfigured instance of the plugin, for in-process
// use such as reading its Info. Constructors must be cheap: the real work
// belongs in Configure.
func (e Entry) New() sdk.Plugin {
	c := e.make()
	switch {
	case c.Encoder != nil:
		return c.Encoder
	case c.Loss != nil:
		return c.Loss
	case c.Dataset != nil:
		return c.Dataset
	}
	return c.Evaluator
}

var (
	mu      sync.Mutex
	entries = map[string]Entry{}
)

// register adds an entry; a second registration of a name is a programming
// error and panics at init time, which any test run catches.
func register(name string, kind sdk.Kind, mk func() sdk.ServeConfig) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := entries[name]; dup {
		panic(fmt.Sprintf("builtin: plugin %q registered twice", name))
	}
	entries[name] = Entry{Name: name, Kind: kind, make: mk}
}

// RegisterEncoder registers the built-in encoder name.
func RegisterEncoder(name string, newFn func() sdk.Encoder) {
	register(name, sdk.KindEncoder, func() sdk.ServeConfig { return sdk.ServeConfig{Encoder: newFn()} })
}

// RegisterLoss registers the built-in loss name.
func RegisterLoss(name string, newFn func() sdk.Loss) {
	register(name, sdk.KindLoss, func() sdk.ServeConfig { return sdk.ServeConfig{Loss: newFn()} })
}

// RegisterDataset registers the built-in dataset name.
func RegisterDataset(name string, newFn func() sdk.Dataset) {
	register(name, sdk.KindDataset, func() sdk.ServeConfig { return sdk.ServeConfig{Dataset: newFn()} })
}

// RegisterEvaluator registers the built-in evaluator name.
func RegisterEvaluator(name string, newFn func() sdk.Evaluator) {
	register(name, sdk.KindEvaluator, func() sdk.ServeConfig { return sdk.ServeConfig{Evaluator: newFn()} })
}

// Lookup returns the built-in called name.
func Lookup(name string) (Entry, bool) {
	mu.Lock()
	defer mu.Unlock()
	e, ok := entries[name]
	return e, ok
}

// List returns every built-in, sorted by kind and name.
func List() []Entry {
	mu.Lock()
	defer mu.Unlock()
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Serve serves the built-in name in this process (the body of
// `convirt plugin serve NAME`); it returns when the host stops the plugin.
func Serve(name string) error {
	e, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("no built-in plugin %q (known: %s)", name, names())
	}
	return sdk.Serve(e.make())
}

// names lists the registered names for error messages.
func names() string {
	s := ""
	for i, e := range List() {
		if i > 0 {
			s += ", "
		}
		s += e.Name
	}
	if s == "" {
		return "none"
	}
	return s
}

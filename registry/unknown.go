package registry

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// UnknownPluginError says a plugin name is neither built in nor installed,
// with the plugins that are (of the kind asked for, when it is known) and
// the nearest of them, so that a misspelt name in a recipe or on the
// command line is answered with what to write instead.
type UnknownPluginError struct {
	Name   string
	Kind   sdk.Kind // "" when any kind would do
	Dir    string   // the plugin directory searched
	Reason string   // why the name is not there: "neither built in nor installed", or not a valid name
	// Known are the names of the plugins that are, of Kind (every kind
	// when Kind is ""), sorted.
	Known []string
	// ByKind are the known plugins by kind, when Kind is "".
	ByKind map[sdk.Kind][]string
}

// Suggestion is the known name nearest to Name, "" when none is near.
func (e *UnknownPluginError) Suggestion() string { return schema.Suggest(e.Name, e.Known) }

func (e *UnknownPluginError) Error() string {
	var b strings.Builder
	kind := "plugin"
	if e.Kind != "" {
		kind = string(e.Kind) + " plugin"
	}
	fmt.Fprintf(&b, "registry: %s %q is %s", kind, e.Name, e.Reason)
	if e.Dir != "" && e.Reason == reasonMissing {
		fmt.Fprintf(&b, " in %s", e.Dir)
	}
	if s := e.Suggestion(); s != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", s)
	}
	switch {
	case len(e.Known) == 0:
		fmt.Fprintf(&b, "; no %ss are known", kind)
	case e.Kind == "" && len(e.ByKind) > 0:
		sep := "; known plugins: "
		for _, k := range sdk.Kinds {
			if names := e.ByKind[k]; len(names) > 0 {
				fmt.Fprintf(&b, "%s%s %s", sep, k, strings.Join(names, ", "))
				sep = "; "
			}
		}
	default:
		fmt.Fprintf(&b, "; known %ss: %s", kind, strings.Join(e.Known, ", "))
	}
	return b.String()
}

// Reasons an UnknownPluginError gives.
const (
	reasonMissing = "neither built in nor installed"
	reasonInvalid = "not a valid plugin name (lower-case letters, digits, '.', '_' and '-')"
)

// Names returns the names of the plugins of kind that are built in or
// installed (every kind when kind is ""), sorted, each once.
func (r *Registry) Names(kind sdk.Kind) ([]string, error) {
	seen := map[string]bool{}
	for _, e := range r.Builtins.Entries {
		if kind == "" || e.Kind == kind {
			seen[e.Name] = true
		}
	}
	installed, err := r.List()
	for _, m := range installed {
		if kind == "" || m.Kind == kind {
			seen[m.Name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen)), err
}

// Unknown returns the UnknownPluginError for name as a plugin of kind
// ("" for any): the known plugins of that kind and the nearest of them.
// An unreadable plugin directory lists the built-ins alone.
func (r *Registry) Unknown(name string, kind sdk.Kind) error {
	reason := reasonMissing
	if !nameRE.MatchString(name) {
		reason = reasonInvalid
	}
	known, _ := r.Names(kind) // what could be read; the name is unknown either way
	e := &UnknownPluginError{Name: name, Kind: kind, Dir: r.Dir, Reason: reason, Known: known}
	if kind == "" {
		e.ByKind = map[sdk.Kind][]string{}
		for _, k := range sdk.Kinds {
			e.ByKind[k], _ = r.Names(k)
		}
	}
	return e
}

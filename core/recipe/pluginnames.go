package recipe

import (
	"fmt"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// PluginNames lists the known plugins of a kind (KindEncoder, ...), sorted:
// what a recipe that names an unknown plugin is told to choose from.
type PluginNames func(kind string) []string

// unknownPluginMessage is how Validate reports a plugin name no lookup knows.
func unknownPluginMessage(u PluginUse) string {
	return fmt.Sprintf("unknown %s plugin %q", u.Kind, u.Name)
}

// withKnownPlugins adds to each diagnostic of an unknown plugin name in ds
// the known plugins of that kind, and the nearest of them as the
// suggestion. names nil leaves ds as it is.
func withKnownPlugins(r *Recipe, ds []Diagnostic, names PluginNames) []Diagnostic {
	if names == nil {
		return ds
	}
	for _, u := range r.Plugins() {
		for i, d := range ds {
			if d.Path != u.Path+".plugin" || d.Message != unknownPluginMessage(u) {
				continue
			}
			known := names(u.Kind)
			if len(known) == 0 {
				ds[i].Message += fmt.Sprintf("; no %s plugins are known", u.Kind)
				continue
			}
			ds[i].Message += fmt.Sprintf("; known %s plugins: %s", u.Kind, strings.Join(known, ", "))
			if ds[i].Suggestion == "" {
				ds[i].Suggestion = schema.Suggest(u.Name, known)
			}
		}
	}
	return ds
}

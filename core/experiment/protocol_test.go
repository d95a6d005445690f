package experiment

import (
	"slices"
	"sort"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// TestEveryRecipeProtocolIsRegistered: the protocols a recipe may name
// (sdk.RecipeProtocols, which recipe validation checks) are exactly those registered
// for convirt run, so no valid recipe meets "not supported".
func TestEveryRecipeProtocolIsRegistered(t *testing.T) {
	var registered []string
	for name := range protocols {
		registered = append(registered, name)
	}
	sort.Strings(registered)
	want := slices.Clone(sdk.RecipeProtocols)
	sort.Strings(want)
	if !slices.Equal(registered, want) {
		t.Errorf("registered protocols %v, recipe protocols %v", registered, want)
	}
	if _, err := protocolOf("nope"); err == nil {
		t.Error("an unregistered protocol was found")
	}
}

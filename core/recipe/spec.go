package recipe

import (
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Values of an evaluation's checkpoint_select (Eval.CheckpointSelect): the
// pretrained weights of the lowest validation loss, or those at the end of
// pretraining.
const (
	CheckpointBest = "best"
	CheckpointLast = "last"
)

// recipeFile is what a recipe file holds: the recipe's keys and the bases
// it names, which loading merges and removes from the resolved recipe.
type recipeFile struct {
	Base   any `yaml:"base" doc:"Base recipe file(s), a path or a list of paths relative to this file, loaded first in order; this file is merged on top. Removed from the resolved recipe."`
	Recipe `yaml:",inline"`
}

// Schema is the schema of a recipe: every key a recipe file may contain,
// with its type, default, range and documentation. It is derived from the
// tagged Recipe structs (recipe.go), so a key is written once; docs/recipes.md
// is generated from it. What a tag cannot hold is set here: the protocols,
// whose one list is sdk.RecipeProtocols, and seeds, a list in Go but a count
// or a list in YAML (Seeds.UnmarshalYAML), five by default.
var Schema = schema.MustDerive(recipeFile{},
	schema.WithEnum("evaluate.protocol", sdk.RecipeProtocols...),
	schema.Modify("evaluate.seeds", func(f *schema.Field) { f.Type, f.Elem, f.Default = schema.Any, "", 5 }))

package main

import (
	"github.com/convirt/convirt/cmd/convirt/internal/benchmarks"
)

// The bench commands (package benchmarks), wired to the built-in plugins
// and to the progress bar of `convirt data prepare`.
func init() {
	b := &benchmarks.Bench{Registry: builtinRegistry, PrepareProgress: prepareBar}
	for _, c := range b.Commands() {
		register(c)
	}
}

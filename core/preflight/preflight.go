// Package preflight checks, before a run starts, everything the run will
// need: the datasets' files, the pretrained weights and vocabularies the
// encoders read, the device and the precisions asked of it (bf16, fp16),
// the plugin binaries, the checkpoints of the pretraining runs that
// evaluations name, and free disk space for the run folder. It lists every problem at once, each with what to do about it, so
// that a run does not fail hours in on the first missing file and then again
// on the next (`convirt run --dry-run`, `convirt recipe validate --deep`).
//
// What it needs to know of the plugins (which config keys are files, what a
// dataset reader expects under its root, whether libtorch has CUDA) is
// handed in as values in Checks by cmd/convirt, the one layer that may name
// implementations.
package preflight

import (
	"context"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/registry"
)

// Checks are what the checks need of the implementations, and the limits.
// A nil function skips its check.
type Checks struct {
	// Files lists the files and folders that the built-in plugin's config
	// names (weights, vocabularies); nil for a plugin it does not know.
	Files func(plugin string, config map[string]any) []File
	// Dataset checks that the built-in dataset plugin's config finds the
	// files its reader expects under the dataset root; known is false for a
	// plugin it does not know. The error says what is missing.
	Dataset func(ctx context.Context, plugin string, config map[string]any) (known bool, err error)
	// DatasetFix says where the dataset plugin's data comes from and how
	// to lay it out, for a dataset that is missing.
	DatasetFix func(plugin string) string
	// Device reports whether the recipe's device (cpu, cuda, cuda:N) can
	// be used by the model plugins.
	Device func(device string) error
	// Precision reports whether the model plugins can run precision
	// (bf16, fp16) on device: the hardware and the libtorch build decide.
	Precision func(device, precision string) error
	// Registry finds the plugins the recipe names: built in, or installed
	// with a binary that must exist and be executable. Nil: not checked.
	Registry *registry.Registry
	// FreeBytes is the free space of the file system that holds dir; nil
	// means statfs(2).
	FreeBytes func(dir string) (uint64, error)
	// MinFreeBytes is the free space the run folder needs (0: DefaultMinFree).
	MinFreeBytes uint64
	// ResolveCheckpoint turns an evaluation's checkpoint reference into a
	// path (core/experiment.ResolveCheckpoint, `latest:EXPERIMENT`); nil
	// takes it as a path.
	ResolveCheckpoint func(store, ref string) (string, error)
}

// Check runs every check on each recipe (the children of a sweep) and
// returns every problem, each once: problems that several places share (a
// dataset two evaluations read) are merged, their places listed together.
func Check(ctx context.Context, rs []*recipe.Recipe, c Checks) Problems {
	var all Problems
	for _, r := range rs {
		if ctx.Err() != nil {
			break
		}
		k := &checker{r: r, c: c}
		k.run(ctx)
		all = append(all, k.found...)
	}
	return merge(all)
}

// checker checks one recipe.
type checker struct {
	r     *recipe.Recipe
	c     Checks
	found Problems
}

func (k *checker) add(where, what, fix string) {
	k.found = append(k.found, Problem{Where: []string{where}, What: what, Fix: fix})
}

// role is one plugin the recipe names, at the recipe key where.
type role struct {
	where string
	ref   recipe.PluginRef
	data  bool // a dataset plugin
}

func (k *checker) roles() []role {
	r := k.r
	var out []role
	if r.Data.Pretrain != nil {
		out = append(out, role{"data.pretrain", *r.Data.Pretrain, true})
	}
	if r.ImageEncoder.Plugin != "" {
		out = append(out, role{"image_encoder", r.ImageEncoder, false})
	}
	if r.TextEncoder != nil {
		out = append(out, role{"text_encoder", *r.TextEncoder, false})
	}
	if r.Loss != nil {
		out = append(out, role{"loss", *r.Loss, false})
	}
	for _, e := range r.Evaluate {
		at := "evaluate[" + e.Name + "]"
		out = append(out, role{at + ".evaluator", e.Evaluator, false}, role{at + ".dataset", e.Dataset, true})
	}
	return out
}

func (k *checker) run(ctx context.Context) {
	if k.device() {
		k.precisions()
	}
	for _, ro := range k.roles() {
		if !k.plugin(ro) {
			continue
		}
		k.files(ro)
		if ro.data {
			k.dataset(ctx, ro)
		}
	}
	k.checkpoints()
	k.disk()
}

// Package preflight checks, before a run starts, everything the run will
// need: the datasets' files, the pretrained weights and vocabularies the
// encoders read, the device, the plugin binaries, the checkpoints of the
// pretraining runs that evaluations name, and free disk space for the run
// folder. It lists every problem at once, each with what to do about it, so
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
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/registry"
)

// Problem is one thing a run needs that is missing or wrong.
type Problem struct {
	// Where lists the recipe keys that need it (several evaluations may
	// share a dataset), e.g. "evaluate[rsna-linear].dataset.config.root".
	Where []string
	// What is wrong, naming the file, folder, plugin or device.
	What string
	// Fix says what to do about it.
	Fix string
}

// String is the problem on two lines: where and what, then the fix.
func (p Problem) String() string {
	return fmt.Sprintf("%s: %s\n    fix: %s", strings.Join(p.Where, ", "), p.What, p.Fix)
}

// Problems are every problem found, in the order of the recipe's keys.
type Problems []Problem

// Error lists every problem, one per paragraph.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s) before the run can start:\n%s", len(ps), strings.Join(lines, "\n"))
}

// File is a file or folder a plugin's config names, which must exist
// before the plugin starts.
type File struct {
	Key      string   // the config key that names it ("weights"), or the key it derives from
	Path     string   // as the config gives it, relative to the working directory
	Dir      bool     // a folder, not a file
	Contains []string // files a folder must hold
	Fix      string   // what to do when it is missing
}

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

// DefaultMinFree is the free space a run folder needs by default, 1 GiB:
// room for the logs, predictions, plots and a few checkpoints of small
// models. The paper's ResNet-50 and BERT checkpoints, optimiser states
// included, take about 1.5 GB each (three are kept): a caller that knows
// the models sets MinFreeBytes.
const DefaultMinFree = 1 << 30

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

// merge joins the problems with the same what and fix, keeping the first
// one's place in the order.
func merge(ps Problems) Problems {
	var out Problems
	at := map[string]int{}
	for _, p := range ps {
		key := p.What + "\x00" + p.Fix
		i, seen := at[key]
		if !seen {
			at[key] = len(out)
			out = append(out, Problem{What: p.What, Fix: p.Fix})
			i = len(out) - 1
		}
		for _, w := range p.Where {
			if !slices.Contains(out[i].Where, w) {
				out[i].Where = append(out[i].Where, w)
			}
		}
	}
	return out
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
	k.device()
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

// device checks the recipe's device.
func (k *checker) device() {
	if k.c.Device == nil {
		return
	}
	if err := k.c.Device(k.r.Device); err != nil {
		fix := "set device: cpu (--set device=cpu) to run on the CPU"
		if strings.HasPrefix(k.r.Device, "cuda") {
			fix += ", or build convirt against a CUDA libtorch on a machine with a GPU (README, GPU build: make build LIBTORCH=/path/to/libtorch)"
		}
		k.add("device", err.Error(), fix)
	}
}

// plugin checks that the plugin ro names is built in or installed with an
// executable binary; false when it is not there at all.
func (k *checker) plugin(ro role) bool {
	if k.c.Registry == nil {
		return true
	}
	spec, err := k.c.Registry.Spec(ro.ref.Plugin)
	if err != nil {
		k.add(ro.where+".plugin", err.Error(), fmt.Sprintf("install it (convirt plugin install BINARY, or --plugins DIR for another plugin folder); `convirt plugin list` lists the built-in and installed plugins (plugin folder %s)", k.c.Registry.Dir))
		return false
	}
	if spec.BuiltIn {
		return true
	}
	fi, err := os.Stat(spec.Path)
	switch {
	case err != nil:
		k.add(ro.where+".plugin", fmt.Sprintf("plugin %s: its binary %s is missing: %v", spec.Name, spec.Path, err), "install the plugin again (convirt plugin install BINARY)")
		return false
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		k.add(ro.where+".plugin", fmt.Sprintf("plugin %s: its binary %s is not an executable file (mode %v)", spec.Name, spec.Path, fi.Mode()), fmt.Sprintf("chmod +x %s, or install the plugin again (convirt plugin install BINARY)", spec.Path))
		return false
	}
	return true
}

// files checks the files and folders ro's config names.
func (k *checker) files(ro role) {
	if k.c.Files == nil {
		return
	}
	for _, f := range k.c.Files(ro.ref.Plugin, ro.ref.Config) {
		if f.Path == "" || k.synthesized(f.Path) {
			continue
		}
		where := ro.where + ".config." + f.Key
		fi, err := os.Stat(f.Path)
		switch {
		case err != nil:
			k.add(where, fmt.Sprintf("%s %s does not exist", kind(f.Dir), f.Path), f.Fix)
			continue
		case f.Dir && !fi.IsDir():
			k.add(where, fmt.Sprintf("%s is a file; a folder is expected", f.Path), f.Fix)
			continue
		case !f.Dir && fi.IsDir():
			k.add(where, fmt.Sprintf("%s is a folder; a file is expected", f.Path), f.Fix)
			continue
		}
		var missing []string
		for _, name := range f.Contains {
			if _, err := os.Stat(filepath.Join(f.Path, name)); err != nil {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			k.add(where, fmt.Sprintf("folder %s lacks %s", f.Path, strings.Join(missing, ", ")), f.Fix)
		}
	}
}

func kind(dir bool) string {
	if dir {
		return "folder"
	}
	return "file"
}

// dataset checks the files of the dataset ro names.
func (k *checker) dataset(ctx context.Context, ro role) {
	if k.c.Dataset == nil {
		return
	}
	if root, _ := ro.ref.Config["root"].(string); root != "" && k.synthesized(root) {
		return
	}
	known, err := k.c.Dataset(ctx, ro.ref.Plugin, ro.ref.Config)
	if !known || err == nil {
		return
	}
	fix := "point the dataset's root at its folder"
	if k.c.DatasetFix != nil {
		fix = k.c.DatasetFix(ro.ref.Plugin)
	}
	k.add(ro.where+".config.root", fmt.Sprintf("dataset %s: %v", ro.ref.Plugin, err), fix)
}

// synthesized reports whether path lies under the synthetic corpus the
// recipe writes before anything reads it (data.synth.root).
func (k *checker) synthesized(path string) bool {
	if k.r.Data.Synth == nil {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(k.r.Data.Synth.Root), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// checkpoints checks the pretraining weights each evaluation's init
// convirt uses: this run's pretraining, or the run directory or checkpoint
// file its checkpoint names.
func (k *checker) checkpoints() {
	for _, e := range k.r.Evaluate {
		if !slices.Contains(e.Inits, "convirt") {
			continue
		}
		where := "evaluate[" + e.Name + "].checkpoint"
		if e.Checkpoint == "" {
			if k.r.Data.Pretrain == nil {
				k.add(where, "init convirt needs pretrained weights, and the recipe neither pretrains (data.pretrain) nor names a checkpoint",
					"set checkpoint: latest:EXPERIMENT (the newest finished pretraining of that experiment) or a pretraining run's directory, or drop convirt from inits")
			}
			continue
		}
		path := e.Checkpoint
		if k.c.ResolveCheckpoint != nil {
			p, err := k.c.ResolveCheckpoint(k.r.Output, e.Checkpoint)
			if err != nil {
				k.add(where, err.Error(), "run that pretraining first, or set checkpoint (or the variable the recipe reads it from, such as CONVIRT_CHEST_RUN) to a pretraining run's directory")
				continue
			}
			path = p
		}
		if !holdsCheckpoint(path) {
			k.add(where, fmt.Sprintf("%s is neither a checkpoint file nor a run directory with checkpoints", path),
				"point checkpoint at a finished pretraining run's directory (convirt runs list), or use latest:EXPERIMENT")
		}
	}
}

// holdsCheckpoint reports whether path is a file, or a folder holding
// checkpoints (a run directory's checkpoints/ or the checkpoints folder
// itself).
func holdsCheckpoint(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		return true
	}
	for _, dir := range []string{filepath.Join(path, "checkpoints"), path} {
		if m, _ := filepath.Glob(filepath.Join(dir, "*.ckpt")); len(m) > 0 {
			return true
		}
	}
	return false
}

// disk checks the free space where the run folder will be made (the
// recipe's output, or the nearest folder above it that exists).
func (k *checker) disk() {
	need := k.c.MinFreeBytes
	if need == 0 {
		need = DefaultMinFree
	}
	free := k.c.FreeBytes
	if free == nil {
		free = statfsFree
	}
	dir := existingAncestor(k.r.Output)
	got, err := free(dir)
	if err != nil {
		k.add("output", fmt.Sprintf("free space of %s: %v", dir, err), "make the output folder reachable, or set output to another folder")
		return
	}
	if got < need {
		k.add("output", fmt.Sprintf("only %s free on the file system of %s; a run needs at least %s (checkpoints, predictions, plots)", bytesText(got), dir, bytesText(need)),
			"free space there, or set output to a folder on a larger disk (--set output=/big/disk/runs)")
	}
}

// existingAncestor is dir, or the nearest folder above it that exists.
func existingAncestor(dir string) string {
	if dir == "" {
		dir = "."
	}
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// bytesText is n in GiB or MiB.
func bytesText(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The arrows between the module's packages, as docs/architecture.md draws
// them: cmd → core, registry → plugins/sdk, and plugins → plugins/sdk.
// Only cmd/ names plugin implementations (and hands them to core as
// values); the SDK is the contract both sides import and imports neither.
// Tests are held to the same arrows as the code they test.

// modulePath is the module's import path.
const modulePath = "github.com/convirt/convirt"

// The layers of the package map.
const (
	layerSDK    = "plugins/sdk"  // plugins/sdk/...: the plugin contract
	layerPlugin = "plugins"      // the other plugins/...: implementations
	layerHost   = "core"         // core/... and registry: the host
	layerCmd    = "cmd"          // cmd/...: parses, wires, prints
	layerNone   = "no layer yet" // anything else: the map must name it first
)

// mayImport lists the layers a layer's packages may import.
var mayImport = map[string][]string{
	layerSDK:    {layerSDK},
	layerPlugin: {layerSDK, layerPlugin},
	layerHost:   {layerSDK, layerHost},
	layerCmd:    {layerSDK, layerPlugin, layerHost, layerCmd},
}

// layerOf is the layer of the module package path (import path relative to
// the module).
func layerOf(rel string) string {
	under := func(dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }
	switch {
	case under("plugins/sdk"):
		return layerSDK
	case under("plugins"):
		return layerPlugin
	case under("core"), under("registry"):
		return layerHost
	case under("cmd"):
		return layerCmd
	}
	return layerNone
}

// listedPackage is what `go list -json` says of one package.
type listedPackage struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
	Error                              *struct{ Err string }
}

// wrongWay returns, for each import of the module's packages that points
// against the arrows (tests' imports included), a line naming the package,
// the import and the rule it breaks.
func wrongWay(pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, modulePath+"/")
		if !ok {
			continue
		}
		from := layerOf(rel)
		if from == layerNone {
			out = append(out, fmt.Sprintf("%s is in no layer of the package map (docs/architecture.md): put it under cmd/, core/, registry or plugins/, or add its layer to the map and to layerOf", rel))
			continue
		}
		for _, imports := range []struct {
			what string
			list []string
		}{{"imports", p.Imports}, {"its tests import", append(slices.Clone(p.TestImports), p.XTestImports...)}} {
			seen := map[string]bool{}
			for _, imp := range imports.list {
				irel, ok := strings.CutPrefix(imp, modulePath+"/")
				if !ok || seen[irel] {
					continue
				}
				seen[irel] = true
				if to := layerOf(irel); !slices.Contains(mayImport[from], to) {
					out = append(out, fmt.Sprintf("%s (%s) %s %s (%s): %s may import only %s", rel, from, imports.what, irel, to, from, strings.Join(mayImport[from], ", ")))
				}
			}
		}
	}
	return out
}

// TestArrowsPointOneWay lists every package of the module with `go list`
// and fails on each import that points the wrong way.
func TestArrowsPointOneWay(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH (go test puts it there): %v", err)
	}
	cmd := exec.Command(goTool, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 || !slices.ContainsFunc(pkgs, func(p listedPackage) bool { return p.ImportPath == modulePath+"/plugins/sdk" }) {
		t.Fatalf("go list found %d packages, without plugins/sdk: not the module's root?", len(pkgs))
	}
	for _, line := range wrongWay(pkgs) {
		t.Error(line)
	}
}

// TestArrowRules: the check catches each kind of wrong-way import, from
// code and from tests, and lets the right ones through.
func TestArrowRules(t *testing.T) {
	pkg := func(path string, imports, tests []string) listedPackage {
		abs := func(l []string) []string {
			out := make([]string, len(l))
			for i, p := range l {
				out[i] = modulePath + "/" + p
			}
			return out
		}
		return listedPackage{ImportPath: modulePath + "/" + path, Imports: append(abs(imports), "fmt"), XTestImports: abs(tests)}
	}
	for _, c := range []struct {
		name string
		p    listedPackage
		bad  string // a fragment of the one complaint; "" for none
	}{
		{"core uses the contract", pkg("core/host", []string{"plugins/sdk", "plugins/sdk/shm", "core/thp"}, nil), ""},
		{"registry uses core", pkg("registry", []string{"core/host", "plugins/sdk/builtin"}, nil), ""},
		{"a plugin uses another and the SDK", pkg("plugins/evaluators/evalplugin", []string{"plugins/evaluators/linear", "plugins/sdk/subset"}, nil), ""},
		{"cmd wires everything", pkg("cmd/convirt", []string{"core/experiment", "registry", "plugins/datasets/synth", "plugins/sdk/builtin"}, nil), ""},
		{"core names an implementation", pkg("core/experiment", []string{"plugins/evaluators/results"}, nil), "core/experiment (core) imports plugins/evaluators/results (plugins)"},
		{"registry names an implementation", pkg("registry", []string{"plugins/losses/convirt"}, nil), "registry (core) imports plugins/losses/convirt"},
		{"a plugin imports the host", pkg("plugins/datasets/prepare", []string{"core/progress"}, nil), "plugins/datasets/prepare (plugins) imports core/progress (core)"},
		{"a plugin's test imports the host", pkg("plugins/examples/encoder", nil, []string{"core/host"}), "plugins/examples/encoder (plugins) its tests import core/host"},
		{"core's test imports an implementation", pkg("core/experiment", nil, []string{"plugins/evaluators/evalplugin"}), "its tests import plugins/evaluators/evalplugin"},
		{"the SDK imports an implementation", pkg("plugins/sdk", []string{"plugins/datasets/subset"}, nil), "plugins/sdk (plugins/sdk) imports plugins/datasets/subset"},
		{"the SDK imports the host", pkg("plugins/sdk/sdktest", nil, []string{"core/host"}), "may import only plugins/sdk"},
		{"a package outside the map", pkg("tools/gen", []string{"plugins/sdk"}, nil), "tools/gen is in no layer"},
	} {
		got := wrongWay([]listedPackage{c.p})
		switch {
		case c.bad == "" && len(got) != 0:
			t.Errorf("%s: complaints %q, want none", c.name, got)
		case c.bad != "" && (len(got) != 1 || !strings.Contains(got[0], c.bad)):
			t.Errorf("%s: complaints %q, want one saying %q", c.name, got, c.bad)
		}
	}
}

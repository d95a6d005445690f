package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/registry"
)

// serveArgs are the arguments after the convirt executable that serve the
// built-in name: `convirt plugin serve NAME` (below).
func serveArgs(name string) []string { return []string{"plugin", "serve", name} }

// builtins are the plugins compiled into convirt (builtins*.go) and how
// convirt serves one: the value the registry and the host get, which know
// neither the list nor this command line themselves.
func builtins() registry.Builtins {
	return registry.Builtins{Entries: builtin.List(), Args: serveArgs}
}

// builtinRegistry is a registry of the built-ins only, for commands that
// start no installed plugin.
func builtinRegistry() *registry.Registry { return &registry.Registry{Builtins: builtins()} }

// pluginRegistry returns a registry of the built-ins and the plugins
// installed in dir ("" means the default plugin directory).
func pluginRegistry(dir string) (*registry.Registry, error) {
	reg, err := registry.Open(dir)
	if err != nil {
		return nil, err
	}
	reg.Builtins = builtins()
	return reg, nil
}

func init() {
	register(&command{
		Name:    "plugin serve",
		Usage:   "NAME",
		Short:   "serve a built-in plugin (started by the host, not by hand)",
		Example: "plugin serve smallcnn",
		// Started by the host with huge pages in its environment already.
		Torch: true,
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("plugin serve", stderr)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if args = fs.Args(); len(args) != 1 {
				return fmt.Errorf("%w: want exactly one plugin name", errUsage)
			}
			return builtin.Serve(args[0])
		},
	})
}

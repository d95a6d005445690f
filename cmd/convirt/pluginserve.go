package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convirt/convirt/plugins/sdk/builtin"
)

func init() {
	register(&command{
		Name:  "plugin serve",
		Usage: "NAME",
		Short: "serve a built-in plugin (started by the host, not by hand)",
		// Started by the host with huge pages in its environment already.
		Torch: true,
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want exactly one plugin name", errUsage)
			}
			return builtin.Serve(args[0])
		},
	})
}

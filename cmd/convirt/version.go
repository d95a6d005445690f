package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convirt/convirt/cmd/convirt/internal/version"
)

func init() {
	register(&command{
		Name:    "version",
		Short:   "print the convirt version, the commit it was built from, Go and libtorch versions and whether CUDA is available (also convirt --version)",
		Example: "version",
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("version", stderr)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
			}
			version.Print(stdout)
			return nil
		},
	})
}

package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

func init() {
	register(&command{
		Name:  "version",
		Short: "print the convirt version and build information",
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok {
				v = bi.Main.Version
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v += " " + s.Value
					}
				}
			}
			fmt.Fprintln(stdout, "convirt", v)
			return nil
		},
	})
}

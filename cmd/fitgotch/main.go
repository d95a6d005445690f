// Command fitgotch fits github.com/sugarme/gotch to the installed libtorch
// (or the one LIBTORCH names) and writes go.work so the project builds against
// the fitted copy. `make build` runs it; it never needs to run by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/convirt/convirt/core/torchbuild"
)

func main() {
	repo := flag.String("repo", ".", "project root")
	libtorch := flag.String("libtorch", os.Getenv("LIBTORCH"), "libtorch directory (default: the Debian system install)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := filepath.Abs(*repo)
	if err == nil {
		err = torchbuild.Fit(ctx, torchbuild.Options{
			Repo:     root,
			Libtorch: *libtorch,
			StubDir:  filepath.Join(root, "core/torchbuild/stubs"),
			Out:      filepath.Join(root, ".build/gotch"),
			Log:      os.Stderr,
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fitgotch:", err)
		os.Exit(1)
	}
}

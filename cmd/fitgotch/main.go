// Command fitgotch fits github.com/sugarme/gotch to the installed libtorch
// (or the one LIBTORCH names) and writes go.work so the project builds against
// the fitted copy, and fits the project's own libtorch shims (shims) to the
// same libtorch. `make build` runs it; it never needs to run by hand.
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

// shims are the project's cgo packages that compile C++ against libtorch's
// headers and link it; torchbuild writes their flags for a LIBTORCH build.
// (plugins/models/autocast needs none: it declares what it calls itself.)
var shims = []string{
	"plugins/models/torchpickle",
	"plugins/encoders/torchenc/c10d",
}

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
			Shims:    shims,
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fitgotch:", err)
		os.Exit(1)
	}
}

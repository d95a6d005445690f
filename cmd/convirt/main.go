// Command convirt is the one CLI of the project: it runs recipes, serves the
// built-in plugins (`convirt plugin serve NAME`), writes the synthetic corpus,
// benchmarks, and manages plugins and runs. Each area registers its commands
// from its own file through register.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/thp"
)

// command is one `convirt NAME ...` subcommand (package cli), registered
// from an init function of the file of its area.
type command = cli.Command

// commands is convirt's command table (cli.Commands).
var commands = cli.Commands

// register adds a command; it is called from init functions of this package.
func register(c *command) { commands.Register(c) }

// The shared argument parsing of every command (package cli): errUsage
// marks an error whose message is a usage hint, which exits with code 2.
var (
	errUsage         = cli.ErrUsage
	newFlags         = cli.NewFlags
	parseFlags       = cli.Parse
	parseInterleaved = cli.ParseInterleaved
)

func main() {
	// Before anything else: a command that runs libtorch here starts again
	// with malloc on huge pages, as every plugin process is (package thp).
	if c, _ := lookup(os.Args[1:]); c != nil && c.Torch {
		if err := thp.Reexec(); err != nil {
			fmt.Fprintf(os.Stderr, "convirt: warning: %v; continuing on 4 KiB pages\n", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // the first signal stops cleanly; a second one at once
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to their command (cli.Table.Run) and returns the
// process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return commands.Run(ctx, args, stdout, stderr)
}

// lookup returns the command with the longest name that args start with,
// and how many words of args its name took; nil when none matches.
func lookup(args []string) (*command, int) { return commands.Lookup(args) }

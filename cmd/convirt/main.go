// Command convirt is the one CLI of the project: it runs recipes, serves the
// built-in plugins (`convirt plugin serve NAME`), writes the synthetic corpus,
// benchmarks, and manages plugins and runs. Each area registers its commands
// from its own file through register.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/thp"
)

// command is one `convirt NAME ...` subcommand. Nested groups ("plugins list")
// are registered with a space in Name.
type command struct {
	Name  string
	Usage string // one line: arguments and flags
	Short string // one line: what it does
	Run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Torch marks a command that runs libtorch in its own process; such a
	// command starts again on huge pages (core/thp) before it runs. The
	// others skip the re-exec, which costs a second load of libtorch.
	Torch bool
}

var commands = map[string]*command{}

// register adds a command; it is called from init functions of this package.
func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("convirt: duplicate command " + c.Name) // programming error, caught by any test run
	}
	commands[c.Name] = c
}

// The shared argument parsing of every command (package cli): errUsage
// marks an error whose message is a usage hint, which exits with code 2.
var (
	errUsage         = cli.ErrUsage
	newFlags         = cli.NewFlags
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to the longest matching command name and returns the
// process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	c, n := lookup(args)
	if c == nil {
		fmt.Fprintf(stderr, "convirt: unknown command %q (see convirt help)\n", strings.Join(args, " "))
		return 2
	}
	err := c.Run(ctx, args[n:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "convirt %s: %v\nusage: convirt %s %s\n", c.Name, err, c.Name, c.Usage)
		return 2
	default:
		fmt.Fprintf(stderr, "convirt %s: %v\n", c.Name, err)
		return 1
	}
}

// lookup returns the command with the longest name that args start with,
// and how many words of args its name took; nil when none matches.
func lookup(args []string) (*command, int) {
	for n := min(len(args), 3); n >= 1; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, n
		}
	}
	return nil, 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "convirt: ConVIRT pretraining and evaluation with plugin encoders, losses, datasets and evaluators")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s %s\n", n, commands[n].Short)
	}
}

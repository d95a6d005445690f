package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Run dispatches args to the longest matching command name and returns the
// process exit code. `help [CMD]`, `-h` and `--help` print help, a group
// name ("runs") lists its subcommands, `--version` is `version`, and an
// unknown command gets a did-you-mean.
func (t Table) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0 || isHelpFlag(args[0]):
		t.WriteGlobalHelp(stdout)
		return 0
	case args[0] == "help":
		return t.help(ctx, args[1:], stdout, stderr)
	case args[0] == "--version" || args[0] == "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	c, n := t.Lookup(args)
	if c == nil {
		return t.unknown(args, stdout, stderr)
	}
	if slices.ContainsFunc(args[n:], isHelpFlag) {
		return t.help(ctx, args[:n], stdout, stderr)
	}
	err := c.Run(ctx, args[n:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case Reported(err):
		return 2
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "convirt %s: %v\nusage: convirt %s %s\n", c.Name, err, c.Name, c.Usage)
		return 2
	default:
		fmt.Fprintf(stderr, "convirt %s: %v\n", c.Name, err)
		return 1
	}
}

// help prints the help of the command (or group) that args name: the
// command's own --help.
func (t Table) help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		t.WriteGlobalHelp(stdout)
		return 0
	}
	if c, n := t.Lookup(args); c != nil && n == len(args) {
		if err := c.Run(ctx, []string{"--help"}, stdout, stdout); !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "convirt help %s: %v\n", c.Name, err) // a command that takes no --help: a bug
			return 1
		}
		return 0
	}
	return t.unknown(args, stdout, stderr)
}

// unknown answers args that name no command: a group name alone lists its
// subcommands (exit 0); anything else is a usage error with a did-you-mean
// and, under a group, the group's subcommands.
func (t Table) unknown(args []string, stdout, stderr io.Writer) int {
	n := t.LongestGroup(args)
	prefix := strings.Join(args[:n], " ")
	if n > 0 && n == len(args) {
		t.WriteGroupHelp(stdout, prefix)
		return 0
	}
	fmt.Fprintf(stderr, "convirt: unknown command %q", strings.Join(args[:n+1], " "))
	if s := schema.Suggest(args[n], t.Next(prefix)); s != "" {
		fmt.Fprintf(stderr, "; did you mean %q?", strings.TrimSpace(prefix+" "+s))
	}
	if n == 0 {
		fmt.Fprintln(stderr, " (see convirt help)")
	} else {
		fmt.Fprintln(stderr)
		t.WriteGroupHelp(stderr, prefix)
	}
	return 2
}

// isHelpFlag reports whether a is -h, -help or --help: anywhere after a
// command it prints the command's help on stdout.
func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

package cli

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
)

// Command is one `convirt NAME ...` subcommand. Nested groups ("plugins
// list") are registered with a space in Name.
type Command struct {
	Name    string
	Usage   string // one line: arguments and flags
	Short   string // one line: what it does
	Example string // one or more command lines, without the leading "convirt "
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Torch marks a command that runs libtorch in its own process; such a
	// command starts again on huge pages (core/thp) before it runs. The
	// others skip the re-exec, which costs a second load of libtorch.
	Torch bool
}

// Table maps a command's full name ("runs list") to the command.
type Table map[string]*Command

// Commands is convirt's command table: each file of cmd/convirt registers
// its commands into it from an init function, and NewFlags finds a
// command's help text in it by name.
var Commands = Table{}

// Register adds c; a second command of the same name is a programming error.
func (t Table) Register(c *Command) {
	if _, dup := t[c.Name]; dup {
		panic("convirt: duplicate command " + c.Name) // caught by any test run
	}
	t[c.Name] = c
}

// Lookup returns the command with the longest name that args start with,
// and how many words of args its name took; nil when none matches.
func (t Table) Lookup(args []string) (*Command, int) {
	for n := min(len(args), 3); n >= 1; n-- {
		if c, ok := t[strings.Join(args[:n], " ")]; ok {
			return c, n
		}
	}
	return nil, 0
}

// Names returns every command name, sorted.
func (t Table) Names() []string {
	return slices.Sorted(maps.Keys(t))
}

// Group returns the commands under the group prefix ("runs", "plugins
// index"), sorted; none when prefix is no group.
func (t Table) Group(prefix string) []*Command {
	var out []*Command
	for _, n := range t.Names() {
		if strings.HasPrefix(n, prefix+" ") {
			out = append(out, t[n])
		}
	}
	return out
}

// LongestGroup returns how many leading words of args name a group (at
// least one command lies under them), 0 when args[0] is neither group nor
// command.
func (t Table) LongestGroup(args []string) int {
	for n := min(len(args), 2); n >= 1; n-- {
		if len(t.Group(strings.Join(args[:n], " "))) > 0 {
			return n
		}
	}
	return 0
}

// Next returns the words that may follow prefix ("" for the first word):
// the next word of every command name under it, sorted and unique.
func (t Table) Next(prefix string) []string {
	var words []string
	for _, n := range t.Names() {
		rest, ok := n, prefix == ""
		if !ok {
			rest, ok = strings.CutPrefix(n, prefix+" ")
		}
		if ok {
			w, _, _ := strings.Cut(rest, " ")
			words = append(words, w)
		}
	}
	return slices.Compact(words)
}

package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// WriteGlobalHelp writes the overview `convirt help` prints: every
// command with its one-line description.
func (t Table) WriteGlobalHelp(w io.Writer) {
	fmt.Fprintln(w, "convirt: ConVIRT pretraining and evaluation with plugin encoders, losses, datasets and evaluators")
	fmt.Fprintln(w, "\nUsage: convirt COMMAND [ARGS]   (convirt help COMMAND, or convirt COMMAND --help, for one command)")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range t.Names() {
		fmt.Fprintf(w, "  %-20s %s\n", n, t[n].Short)
	}
}

// WriteGroupHelp writes the subcommands of the group prefix ("runs").
func (t Table) WriteGroupHelp(w io.Writer, prefix string) {
	fmt.Fprintf(w, "convirt %s: subcommands (convirt help %s SUBCOMMAND for one)\n\n", prefix, prefix)
	for _, c := range t.Group(prefix) {
		fmt.Fprintf(w, "  %-20s %s\n", strings.TrimPrefix(c.Name, prefix+" "), c.Short)
	}
}

// writeHelp writes the help of the command name: its description, usage,
// example and, when fs is not nil, its flags. A name not in the table (a
// flag set made outside convirt's commands) gets the usage and flags only.
func (t Table) writeHelp(w io.Writer, name string, fs *flag.FlagSet) {
	c := t[name]
	if c == nil {
		c = &Command{Name: name}
	}
	if c.Short != "" {
		fmt.Fprintf(w, "convirt %s: %s\n\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "Usage of convirt %s:\n  %s\n", c.Name, strings.TrimSpace("convirt "+c.Name+" "+c.Usage))
	if c.Example != "" {
		fmt.Fprintln(w, "\nExample:")
		for _, line := range strings.Split(c.Example, "\n") {
			fmt.Fprintf(w, "  convirt %s\n", line)
		}
	}
	if fs != nil && hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// flagNames returns the names of fs's flags.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

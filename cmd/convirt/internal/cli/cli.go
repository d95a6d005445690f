// Package cli holds what every convirt command shares to parse its
// arguments: the usage error, flag sets that report instead of exiting, and
// flags interleaved with positional arguments. cmd/convirt and the command
// packages under it (the benchmarks) use it alike, so a usage error from
// either exits the same way.
package cli

import (
	"errors"
	"flag"
	"io"
)

// ErrUsage marks an error whose message is a usage hint; convirt prints the
// command's usage after it and exits with code 2.
var ErrUsage = errors.New("usage")

// NewFlags returns a FlagSet for the command name that reports errors
// instead of exiting, printing its defaults to stderr on -h.
func NewFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("convirt "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// ParseInterleaved parses flags that may come before or after positional
// arguments and returns the positional ones.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

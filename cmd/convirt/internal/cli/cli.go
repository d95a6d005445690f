// Package cli holds what every convirt command shares to parse its
// arguments and to explain itself: the command table with each command's
// description, usage and example, the help that `convirt help CMD` and
// `CMD --help` print, did-you-mean for commands and flags, the usage error,
// flag sets that report instead of exiting, flags interleaved with
// positional arguments, and Hydra-style key=value overrides. cmd/convirt
// and the command packages under it (the benchmarks) use it alike, so a
// usage error from either exits the same way.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// ErrUsage marks an error whose message is a usage hint; convirt prints the
// command's usage after it and exits with code 2.
var ErrUsage = errors.New("usage")

// flagError is a flag parsing error that the flag set has already printed,
// with a did-you-mean and the command's usage line; it is a usage error.
type flagError struct{ err error }

func (e *flagError) Error() string        { return e.err.Error() }
func (e *flagError) Unwrap() error        { return e.err }
func (e *flagError) Is(target error) bool { return target == ErrUsage }

// Reported reports whether err is a flag error already printed to the
// command's stderr (exit 2 without printing it again).
func Reported(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

// flagOutput is a flag set's output: it passes everything on to w and
// remembers the last error message the flag package wrote, which is every
// write made outside the set's Usage function.
type flagOutput struct {
	w       io.Writer
	inUsage bool
	failure string
}

func (o *flagOutput) Write(p []byte) (int, error) {
	if !o.inUsage {
		o.failure = string(p)
	}
	return o.w.Write(p)
}

// NewFlags returns a FlagSet for the command name that reports errors
// instead of exiting. On -h or --help it prints the command's help from
// Commands (description, usage, example, flags) to stderr; on a bad flag,
// after the flag package's message, a did-you-mean and the usage line.
func NewFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("convirt "+name, flag.ContinueOnError)
	out := &flagOutput{w: stderr}
	fs.SetOutput(out)
	fs.Usage = func() {
		out.inUsage = true
		defer func() { out.inUsage, out.failure = false, "" }()
		if out.failure == "" {
			Commands.writeHelp(out, name, fs)
			return
		}
		const undefined = "flag provided but not defined: -"
		if bad, ok := strings.CutPrefix(strings.TrimSpace(out.failure), undefined); ok {
			if s := schema.Suggest(bad, flagNames(fs)); s != "" {
				fmt.Fprintf(out, "did you mean --%s?\n", s)
			}
		}
		usage := ""
		if c := Commands[name]; c != nil {
			usage = " " + c.Usage
		}
		fmt.Fprintf(out, "usage: convirt %s%s (convirt %s --help for more)\n", name, usage, name)
	}
	return fs
}

// Parse parses args with fs; an error other than flag.ErrHelp comes back
// as a usage error already printed (Reported).
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return &flagError{err}
	}
	return err
}

// ParseInterleaved parses flags that may come before or after positional
// arguments and returns the positional ones.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := Parse(fs, args); err != nil {
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

// SplitOverrides separates Hydra-style `key.path=value` overrides from the
// other positional arguments (files, run ids), each in order: an argument
// is an override when it has an "=" and the part before it is a key path
// (letters, digits, _ - . [ ]; no path separator).
func SplitOverrides(pos []string) (rest, sets []string) {
	for _, a := range pos {
		if k, _, ok := strings.Cut(a, "="); ok && isKeyPath(k) {
			sets = append(sets, a)
		} else {
			rest = append(rest, a)
		}
	}
	return rest, sets
}

// isKeyPath reports whether k looks like a recipe key path (letters,
// digits, '_', '-', '.', '[' and ']'), not a file name.
func isKeyPath(k string) bool {
	if k == "" || k[0] == '-' || k[0] == '.' {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool { return !keyRune(r) }) < 0
}

// keyRune reports whether r may appear in a recipe key path.
func keyRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_-.[]", r)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/registry"
)

func init() {
	register(&command{Name: "plugins list", Usage: "[--plugins DIR]", Short: "list built-in and installed plugins", Example: "plugins list", Run: pluginsList})
	register(&command{Name: "plugins describe", Usage: "[--plugins DIR] NAME", Short: "show a plugin's manifest and config schema", Example: "plugins describe smallcnn", Run: pluginsDescribe})
	register(&command{Name: "plugins install", Usage: "[--plugins DIR] [--sha256 SUM] PATH|URL | [--index FILE|URL] NAME[@VERSION]",
		Short: "install a plugin: a local file, a URL with its sha256, or by name from an index", Example: "plugins install ./my-encoder\nplugins install --index https://example.org/index.json my-encoder@1.2.0", Run: pluginsInstall})
	register(&command{Name: "plugins verify", Usage: "[--plugins DIR]", Short: "check installed plugins against their recorded checksums", Example: "plugins verify", Run: pluginsVerify})
	register(&command{Name: "plugins index add", Usage: "[--plugins DIR] INDEX NAME...", Short: "publish installed plugins into an index file (and copy them next to it)", Example: "plugins index add ./index.json my-encoder", Run: indexAdd})
	register(&command{Name: "plugins index build", Usage: "[--plugins DIR] INDEX", Short: "publish every installed plugin into an index file", Example: "plugins index build ./index.json", Run: indexBuild})
	register(&command{Name: "plugins index list", Usage: "FILE|URL", Short: "list the plugins an index offers", Example: "plugins index list ./index.json", Run: indexList})
}

// pluginFlags returns the flag set of a plugins command, with --plugins,
// the plugin directory as run and the recipe commands name it (and --dir,
// its old name here, with a warning: elsewhere --dir was the run store).
func pluginFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := newFlags(name, stderr)
	dir := pluginsFlag(fs)
	fs.Func("dir", "deprecated: the same as --plugins", func(s string) error {
		fmt.Fprintf(stderr, "convirt: warning: --dir is deprecated for the plugins commands (it is the run store's old name elsewhere), use --plugins %s\n", s)
		*dir = s
		return nil
	})
	return fs, dir
}

// openRegistry parses args (flags may follow arguments), checks that at
// least lo and at most hi (no limit when negative) arguments remain, and
// opens the registry -dir names.
func openRegistry(fs *flag.FlagSet, dir *string, args []string, lo, hi int) (*registry.Registry, []string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) < lo || (hi >= 0 && len(pos) > hi) {
		want := fmt.Sprint(lo)
		if hi != lo {
			want = fmt.Sprintf("at least %d", lo)
		}
		return nil, nil, fmt.Errorf("%w: want %s argument(s), got %d", errUsage, want, len(pos))
	}
	reg, err := pluginRegistry(*dir)
	if err != nil {
		return nil, nil, err
	}
	return reg, pos, nil
}

func pluginsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := pluginFlags("plugins list", stderr)
	reg, _, err := openRegistry(fs, dir, args, 0, 0)
	if err != nil {
		return err
	}
	built, err := reg.BuiltinManifests(ctx)
	if err != nil {
		return err
	}
	installed, err := reg.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tPROTOCOL\tSOURCE\tSHA256")
	for _, m := range append(built, installed...) {
		src, sum := "built-in", "-"
		if !m.BuiltIn {
			src, sum = m.Binary, m.SHA256[:min(12, len(m.SHA256))]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", m.Name, m.Kind, m.Version, m.ProtocolVersion, src, sum)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(installed) == 0 {
		fmt.Fprintf(stdout, "(no installed plugins in %s)\n", reg.Dir)
	}
	return nil
}

func pluginsDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := pluginFlags("plugins describe", stderr)
	reg, rest, err := openRegistry(fs, dir, args, 1, 1)
	if err != nil {
		return err
	}
	m, err := reg.Describe(ctx, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "name:      %s\nkind:      %s\nversion:   %s\nprotocol:  %d\n", m.Name, m.Kind, m.Version, m.ProtocolVersion)
	if m.Description != "" {
		fmt.Fprintf(stdout, "about:     %s\n", m.Description)
	}
	if m.BuiltIn {
		fmt.Fprintln(stdout, "source:    built-in (convirt plugin serve "+m.Name+")")
	} else {
		fmt.Fprintf(stdout, "binary:    %s\nsha256:    %s\ninstalled: %s from %s\n", m.Binary, m.SHA256, m.InstalledAt.Format("2006-01-02 15:04:05Z"), m.Source)
	}
	fmt.Fprintln(stdout, "\nconfig:")
	if len(m.Schema.Fields) == 0 {
		fmt.Fprintln(stdout, "  (no settings)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY\tTYPE\tDEFAULT\tALLOWED\tDOC")
	writeFields(tw, "  ", m.Schema.Fields)
	return tw.Flush()
}

// writeFields writes one schema row per field, nested objects indented.
func writeFields(w io.Writer, indent string, fields []schema.Field) {
	for _, f := range fields {
		def := "-"
		if f.Default != nil {
			def = fmt.Sprint(f.Default)
		}
		if f.Required {
			def = "(required)"
		}
		var allowed []string
		if f.Min != nil {
			allowed = append(allowed, fmt.Sprintf(">= %g", *f.Min))
		}
		if f.Max != nil {
			allowed = append(allowed, fmt.Sprintf("<= %g", *f.Max))
		}
		if len(f.Enum) > 0 {
			allowed = append(allowed, strings.Join(f.Enum, "|"))
		}
		typ := string(f.Type)
		if f.Type == schema.List && f.Elem != "" {
			typ += "[" + string(f.Elem) + "]"
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\n", indent, f.Name, typ, def, strings.Join(allowed, ", "), f.Doc)
		writeFields(w, indent+"  ", f.Fields)
	}
}

func pluginsInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := pluginFlags("plugins install", stderr)
	index := fs.String("index", os.Getenv(registry.EnvIndex), "index `FILE|URL` to install NAME[@VERSION] from (default $"+registry.EnvIndex+")")
	sum := fs.String("sha256", "", "the sha256 the PATH or URL must have (required for a URL)")
	reg, rest, err := openRegistry(fs, dir, args, 1, 1)
	if err != nil {
		return err
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "index" })
	arg := rest[0]
	_, statErr := os.Stat(arg)
	var m registry.Manifest
	switch {
	case registry.IsURL(arg) && explicit:
		return fmt.Errorf("%w: -index goes with NAME[@VERSION], not a URL", errUsage)
	case registry.IsURL(arg):
		m, err = reg.InstallURL(ctx, arg, *sum, stderr)
	case statErr == nil && !explicit:
		m, err = reg.InstallFile(ctx, arg, registry.InstallOptions{SHA256: *sum, Log: stderr})
	case *index != "" && *sum != "":
		return fmt.Errorf("%w: -sha256 goes with a PATH or URL; an index lists its own checksums", errUsage)
	case *index != "":
		var name, version string
		if name, version, err = registry.SplitRef(arg); err != nil {
			return err
		}
		var ix *registry.Index
		if ix, err = reg.ReadIndex(ctx, *index); err != nil {
			return err
		}
		m, err = reg.InstallFromIndex(ctx, ix, name, version, stderr)
	default:
		return fmt.Errorf("%s: %w; to install by NAME[@VERSION], name an index with -index or $%s", arg, statErr, registry.EnvIndex)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "installed %s@%s (%s, protocol %d) from %s\n  binary %s\n  sha256 %s\n", m.Name, m.Version, m.Kind, m.ProtocolVersion, m.Source, m.Binary, m.SHA256)
	return nil
}

// indexAdd publishes the named installed plugins into an index file.
func indexAdd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := pluginFlags("plugins index add", stderr)
	reg, rest, err := openRegistry(fs, dir, args, 2, -1)
	if err != nil {
		return err
	}
	return publish(reg, rest[0], rest[1:], stdout)
}

// indexBuild publishes every installed plugin into an index file.
func indexBuild(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := pluginFlags("plugins index build", stderr)
	reg, rest, err := openRegistry(fs, dir, args, 1, 1)
	if err != nil {
		return err
	}
	return publish(reg, rest[0], nil, stdout)
}

// publish adds plugins to the index at path and says how to share it.
func publish(reg *registry.Registry, path string, names []string, stdout io.Writer) error {
	added, err := reg.Publish(path, names)
	if err != nil {
		return err
	}
	for _, e := range added {
		for p, a := range e.Platforms {
			fmt.Fprintf(stdout, "published %s (%s) for %s: %s  sha256 %s\n", e.Ref(), e.Kind, p, a.URL, a.SHA256)
		}
	}
	fmt.Fprintf(stdout, "index %s: share its directory (a common disk or any web server); others install with\n  convirt plugins install -index %s NAME@VERSION\n", path, path)
	return nil
}

// indexList prints what an index offers.
func indexList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plugins index list", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one index FILE or URL", errUsage)
	}
	ix, err := (&registry.Registry{}).ReadIndex(ctx, pos[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tKIND\tPROTOCOL\tPLATFORMS\tDESCRIPTION")
	for _, e := range ix.Plugins {
		plats := slices.Sorted(maps.Keys(e.Platforms))
		if e.URL != "" {
			plats = append(plats, "any")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.Name, e.Version, e.Kind, e.ProtocolVersion, strings.Join(plats, ","), e.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "(%d plugin versions; this machine is %s)\n", len(ix.Plugins), registry.Platform())
	return nil
}

func pluginsVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dir := pluginFlags("plugins verify", stderr)
	reg, _, err := openRegistry(fs, dir, args, 0, 0)
	if err != nil {
		return err
	}
	checks, err := reg.Verify()
	if err != nil {
		return err
	}
	bad := 0
	for _, c := range checks {
		if c.Err != nil {
			bad++
			fmt.Fprintf(stdout, "FAIL  %s: %v\n", c.Manifest.Name, c.Err)
			continue
		}
		fmt.Fprintf(stdout, "ok    %s  %s\n", c.Manifest.Name, c.Actual)
	}
	if bad > 0 {
		return errors.New(fmt.Sprint(bad, " of ", len(checks), " installed plugins failed verification"))
	}
	fmt.Fprintf(stdout, "%d installed plugin(s) verified in %s\n", len(checks), reg.Dir)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/convirt/convirt/core/schema"
	"github.com/convirt/convirt/registry"
)

func init() {
	register(&command{Name: "plugins list", Usage: "[-dir DIR]", Short: "list built-in and installed plugins", Run: pluginsList})
	register(&command{Name: "plugins describe", Usage: "[-dir DIR] NAME", Short: "show a plugin's manifest and config schema", Run: pluginsDescribe})
	register(&command{Name: "plugins install", Usage: "[-dir DIR] PATH", Short: "install a plugin executable into the plugin directory", Run: pluginsInstall})
	register(&command{Name: "plugins verify", Usage: "[-dir DIR]", Short: "check installed plugins against their recorded checksums", Run: pluginsVerify})
}

// openRegistry parses the common -dir flag and opens the registry.
func openRegistry(name string, args []string, stderr io.Writer, nargs int) (*registry.Registry, []string, error) {
	fs := newFlags(name, stderr)
	dir := fs.String("dir", "", "plugin directory (default $CONVIRT_PLUGIN_DIR or ~/.convirt/plugins)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != nargs {
		return nil, nil, fmt.Errorf("%w: want %d argument(s), got %d", errUsage, nargs, fs.NArg())
	}
	reg, err := registry.Open(*dir)
	return reg, fs.Args(), err
}

func pluginsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	reg, _, err := openRegistry("plugins list", args, stderr, 0)
	if err != nil {
		return err
	}
	builtins, err := registry.Builtins(ctx)
	if err != nil {
		return err
	}
	installed, err := reg.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tPROTOCOL\tSOURCE\tSHA256")
	for _, m := range append(builtins, installed...) {
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
	reg, rest, err := openRegistry("plugins describe", args, stderr, 1)
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
	reg, rest, err := openRegistry("plugins install", args, stderr, 1)
	if err != nil {
		return err
	}
	m, err := reg.Install(ctx, rest[0], stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "installed %s (%s %s, protocol %d)\n  binary %s\n  sha256 %s\n", m.Name, m.Kind, m.Version, m.ProtocolVersion, m.Binary, m.SHA256)
	return nil
}

func pluginsVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	reg, _, err := openRegistry("plugins verify", args, stderr, 0)
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

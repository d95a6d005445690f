package runs

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Details is one run as `convirt runs show` prints it: its metadata,
// params, tags, final metrics and the files in its directory.
type Details struct {
	Meta
	Dir      string            `json:"dir"`
	Params   map[string]string `json:"params"`
	Tags     map[string]string `json:"tags"`
	Metrics  map[string]Metric `json:"metrics"`  // final values
	Headline []string          `json:"headline"` // the keys of Metrics that Headline picks
	Children []string          `json:"children,omitempty"`
	Files    []FileInfo        `json:"files"`
}

// FileInfo is an entry of a run directory: a file with its size, or a
// folder with the number of files in it.
type FileInfo struct {
	Name  string `json:"name"`
	Dir   bool   `json:"dir,omitempty"`
	Size  int64  `json:"size"`            // bytes, a folder's files together
	Files int    `json:"files,omitempty"` // in a folder, recursively
}

// ReadDetails reads the run m; root is the run store, where its child runs
// (sweep members) are looked for.
func ReadDetails(root string, m Meta) (*Details, error) {
	r, err := Open(m.Dir)
	if err != nil {
		return nil, err
	}
	metrics, err := ReadMetrics(m.Dir)
	if err != nil {
		return nil, err
	}
	d := &Details{Meta: m, Dir: m.Dir, Params: r.Params(), Tags: r.Tags(), Metrics: Final(metrics)}
	d.Headline = Headline(slices.Sorted(maps.Keys(d.Metrics)))
	if kids, err := Children(root, m.ID); err == nil {
		for _, k := range kids {
			d.Children = append(d.Children, k.ID)
		}
	}
	if d.Files, err = dirFiles(m.Dir); err != nil {
		return nil, err
	}
	return d, nil
}

// dirFiles lists the entries of dir, folders with their content counted.
func dirFiles(dir string) ([]FileInfo, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("run files: %w", err)
	}
	var out []FileInfo
	for _, e := range ents {
		fi := FileInfo{Name: e.Name(), Dir: e.IsDir()}
		err := filepath.WalkDir(filepath.Join(dir, e.Name()), func(_ string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			fi.Size += info.Size()
			if fi.Dir {
				fi.Files++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("run files: %w", err)
		}
		out = append(out, fi)
	}
	return out, nil
}

// WriteJSON writes d as one line of JSON (several runs make JSON Lines).
func (d *Details) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("run %s: %w", d.ID, err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText prints d for a terminal: what the run is and where it came
// from, where its files are, its params and tags, then its headline
// metrics (or those o selects).
func (d *Details) WriteText(w io.Writer, o CompareOptions) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("run", d.ID)
	row("name", dash(d.Name))
	row("experiment", d.Experiment)
	status := string(d.Status)
	if d.Status == Running {
		status += fmt.Sprintf(" (process %d on %s)", d.Env.PID, d.Env.Host)
	}
	row("status", status)
	row("started", d.StartTime.Local().Format("2006-01-02 15:04:05 MST"))
	row("duration", d.Duration().Round(time.Second).String())
	if d.ParentID != "" {
		row("parent", d.ParentID)
	}
	if len(d.Children) > 0 {
		row("children", fmt.Sprintf("%d (convirt runs list --parent %s)", len(d.Children), ShortID(d.ID)))
	}
	// convirt's own build, then the git state of the project the run was
	// started in (meta.json env.convirt and env.git_commit).
	convirt := "-" // a run from before convirt recorded its build
	if c := d.Env.Convirt; c.Version != "" {
		convirt = c.Version + " " + c.RevisionString()
	}
	row("convirt", convirt)
	git := dash(d.Env.GitCommit)
	if d.Env.GitDirty {
		git += " (dirty)"
	}
	row("project git", git)
	row("host", fmt.Sprintf("%s (%s, %s/%s, %s)", d.Env.Host, d.Env.User, d.Env.OS, d.Env.Arch, d.Env.GoVersion))
	for _, k := range slices.Sorted(maps.Keys(d.Env.Extra)) {
		row("env."+k, d.Env.Extra[k])
	}

	fmt.Fprintf(tw, "\nfiles in %s:\n", d.Dir)
	for _, f := range d.Files {
		if f.Dir {
			row("  "+f.Name+"/", fmt.Sprintf("%s, %s", plural(f.Files, "file"), byteSize(f.Size)))
		} else {
			row("  "+f.Name, byteSize(f.Size))
		}
	}

	section(tw, "params", d.Params)
	section(tw, "tags", d.Tags)

	keys, title := d.Headline, "headline metrics"
	all := slices.Sorted(maps.Keys(d.Metrics))
	switch {
	case o.All:
		keys, title = all, "metrics"
	case o.Filter != nil:
		keys, title = o.Filter.Select(all), "metrics matching "+o.Filter.String()
	}
	if len(all) > 0 {
		fmt.Fprintf(tw, "\n%s:\n  metric\tfinal\tstep\n", title)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", k, FormatValue(d.Metrics[k].Value), d.Metrics[k].Step)
		}
		if rest := len(all) - len(keys); rest > 0 {
			fmt.Fprintf(tw, "  (%d more metrics: --filter PATTERN or --all)\n", rest)
		}
	}
	return tw.Flush()
}

// section prints a titled block of sorted key-value rows; long values are
// cut, the full ones are in the run's files.
func section(tw io.Writer, title string, kv map[string]string) {
	if len(kv) == 0 {
		return
	}
	fmt.Fprintf(tw, "\n%s (%d):\n", title, len(kv))
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		v := strings.ReplaceAll(kv[k], "\n", " ")
		if v == "" {
			v = `""`
		}
		if n := len([]rune(v)); n > 72 {
			v = Truncate(v, 60) + fmt.Sprintf(" (%d characters; --json for all)", n)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", k, v)
	}
}

// byteSize writes n bytes as B, KB, MB or GB (powers of 1024).
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "KB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// plural writes n with the noun, "s" added unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

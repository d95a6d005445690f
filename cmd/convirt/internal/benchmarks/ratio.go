package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
)

// ratioLine is one compared field.
type ratioLine struct {
	Field string `json:"field"`
	// RunsA and RunsB count the records reduced on each side.
	RunsA int     `json:"runs_a"`
	RunsB int     `json:"runs_b"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Ratio float64 `json:"ratio"`
}

func runBenchRatio(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("bench ratio", stderr)
	fields := fs.String("field", bench.FieldSecPerStep+","+bench.FieldItemsPerSec, "comma-separated fields to compare; dots reach nested ones (inprocess.sec_per_step), A_FIELD=B_FIELD compares different ones")
	reduce := fs.String("reduce", bench.ReduceLast, "how a file holding several records (repeated runs) gives one figure per field: last, median or min")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("%w: %v", cli.ErrUsage, err)
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want two files (the last JSON object of each is compared, or with --reduce all of them)", cli.ErrUsage)
	}
	switch *reduce {
	case bench.ReduceLast, bench.ReduceMedian, bench.ReduceMin:
	default:
		return fmt.Errorf("%w: --reduce %q: want last, median or min", cli.ErrUsage, *reduce)
	}
	var recs [2][]bench.Record
	for i, p := range pos {
		if recs[i], err = readRecords(p); err != nil {
			return err
		}
	}
	lines, err := compareRecords(recs[0], recs[1], strings.Split(*fields, ","), *reduce)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(lines)
	}
	label := func(rs []bench.Record, path string) string {
		s := rs[len(rs)-1].String("impl")
		if s == "" {
			s = path
		}
		if *reduce != bench.ReduceLast && len(rs) > 1 {
			s = fmt.Sprintf("%s (%s of %d)", s, *reduce, len(rs))
		}
		return s
	}
	for _, l := range lines {
		fmt.Fprintf(stdout, "%s: %s %.4g / %s %.4g = %.3f\n", l.Field, label(recs[0], pos[0]), l.A, label(recs[1], pos[1]), l.B, l.Ratio)
	}
	return nil
}

// readRecords reads the JSON objects of the file at path ("-": stdin).
func readRecords(path string) ([]bench.Record, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	recs, err := bench.ReadRecords(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// compareRecords returns a/b for each field (a name, or A_FIELD=B_FIELD),
// each side reduced over its records as how says (bench.Reduce).
func compareRecords(a, b []bench.Record, fields []string, how string) ([]ratioLine, error) {
	var out []ratioLine
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		fa, fb, ok := strings.Cut(f, "=")
		if !ok {
			fb = fa
		}
		x, err := bench.Reduce(a, fa, how)
		if err != nil {
			return nil, fmt.Errorf("first file: %w", err)
		}
		y, err := bench.Reduce(b, fb, how)
		if err != nil {
			return nil, fmt.Errorf("second file: %w", err)
		}
		line := ratioLine{Field: f, RunsA: len(a), RunsB: len(b), A: x, B: y, Ratio: bench.Finite(bench.Ratio(x, y))}
		if how == bench.ReduceLast {
			line.RunsA, line.RunsB = 1, 1
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no field to compare", cli.ErrUsage)
	}
	return out, nil
}

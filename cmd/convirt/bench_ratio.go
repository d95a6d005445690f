package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/convirt/convirt/core/bench"
)

func init() {
	register(&command{
		Name:  "bench ratio",
		Usage: "[--field sec_per_step[,items_per_sec,inprocess.sec_per_step=sec_per_step...]] [--json] A.json B.json",
		Short: "compare two benchmark JSON records (e.g. convirt vs PyTorch): A/B of each field",
		Run:   runBenchRatio,
	})
}

// ratioLine is one compared field.
type ratioLine struct {
	Field string  `json:"field"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Ratio float64 `json:"ratio"`
}

func runBenchRatio(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench ratio", stderr)
	fields := fs.String("field", bench.FieldSecPerStep+","+bench.FieldItemsPerSec, "comma-separated fields to compare; dots reach nested ones (inprocess.sec_per_step), A_FIELD=B_FIELD compares different ones")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want two files (the last JSON object of each is compared)", errUsage)
	}
	var recs [2]bench.Record
	for i, p := range pos {
		if recs[i], err = lastRecord(p); err != nil {
			return err
		}
	}
	lines, err := compareRecords(recs[0], recs[1], strings.Split(*fields, ","))
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(lines)
	}
	label := func(r bench.Record, path string) string {
		if s := r.String("impl"); s != "" {
			return s
		}
		return path
	}
	for _, l := range lines {
		fmt.Fprintf(stdout, "%s: %s %.4g / %s %.4g = %.3f\n", l.Field, label(recs[0], pos[0]), l.A, label(recs[1], pos[1]), l.B, l.Ratio)
	}
	return nil
}

// lastRecord reads the last JSON object of the file at path ("-": stdin).
func lastRecord(path string) (bench.Record, error) {
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
	return recs[len(recs)-1], nil
}

// compareRecords returns a/b for each field: a name, or A_FIELD=B_FIELD.
func compareRecords(a, b bench.Record, fields []string) ([]ratioLine, error) {
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
		x, err := a.Number(fa)
		if err != nil {
			return nil, fmt.Errorf("first record: %w", err)
		}
		y, err := b.Number(fb)
		if err != nil {
			return nil, fmt.Errorf("second record: %w", err)
		}
		out = append(out, ratioLine{Field: f, A: x, B: y, Ratio: bench.Finite(bench.Ratio(x, y))})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no field to compare", errUsage)
	}
	return out, nil
}

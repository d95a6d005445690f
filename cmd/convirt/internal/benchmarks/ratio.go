package benchmarks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
)

func runBenchRatio(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("bench ratio", stderr)
	fields := fs.String("field", bench.FieldSecPerStep+","+bench.FieldItemsPerSec, "comma-separated fields to compare; dots reach nested ones (inprocess.sec_per_step), A_FIELD=B_FIELD compares different ones")
	reduce := fs.String("reduce", bench.ReduceLast, "how a file holding several records (repeated runs) gives one figure per field: last, median or min")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return err
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
	lines, err := bench.Compare(recs[0], recs[1], strings.Split(*fields, ","), *reduce)
	if errors.Is(err, bench.ErrNoField) {
		return fmt.Errorf("%w: %v", cli.ErrUsage, err)
	}
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

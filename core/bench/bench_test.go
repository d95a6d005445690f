package bench

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/plugins/sdk"
)

const status = `Name:	convirt
VmPeak:	 2000000 kB
VmSize:	 1900000 kB
VmHWM:	  524288 kB
VmRSS:	  262144 kB
RssAnon:	  200000 kB
Threads:	4
`

func TestParseStatus(t *testing.T) {
	m, err := ParseStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSSMB != 256 || m.PeakMB != 512 {
		t.Errorf("got %+v, want RSS 256 MB, peak 512 MB", m)
	}
	if _, err := ParseStatus(strings.NewReader("Name:\tkthreadd\nThreads:\t1\n")); err == nil {
		t.Error("status without Vm lines: want an error")
	}
	if _, err := ParseStatus(strings.NewReader("VmRSS:\t12 MB\nVmHWM:\t1 kB\n")); err == nil {
		t.Error("VmRSS in MB: want an error")
	}
}

func TestReadMemSelfAndResetPeak(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	before, err := ReadMem(0)
	if err != nil {
		t.Fatal(err)
	}
	if before.RSSMB <= 0 || before.PeakMB < before.RSSMB {
		t.Fatalf("implausible memory %+v", before)
	}
	// Touch 64 MiB, free it, and check the peak saw it and a reset forgets it.
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	high, err := ReadMem(0)
	if err != nil {
		t.Fatal(err)
	}
	if high.PeakMB < before.RSSMB+60 {
		t.Errorf("peak %.0f MB after touching 64 MiB from %.0f MB", high.PeakMB, before.RSSMB)
	}
	buf = nil
	_ = buf
	debug.FreeOSMemory()
	if err := ResetPeak(0); err != nil {
		t.Skipf("clear_refs not writable here: %v", err)
	}
	after, err := ReadMem(0)
	if err != nil {
		t.Fatal(err)
	}
	if after.PeakMB > high.PeakMB-32 {
		t.Errorf("peak %.0f MB after freeing 64 MiB and a reset, was %.0f MB", after.PeakMB, high.PeakMB)
	}
	snap, err := Sample(7, []Watched{{Name: "host"}, {Name: "me again", PID: os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Procs) != 2 || snap.Step != 7 || snap.TotalMB < 2*after.RSSMB*0.5 || snap.Procs[0].PID != os.Getpid() {
		t.Errorf("snapshot %+v", snap)
	}
	if _, err := Sample(0, []Watched{{Name: "gone", PID: 1 << 30}}); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("missing process: got %v, want an error naming it", err)
	}
}

func TestSteps(t *testing.T) {
	s := Steps{Warmup: 2}
	for _, ms := range []int{1000, 900, 10, 30, 20, 40} {
		s.Add(time.Duration(ms) * time.Millisecond)
	}
	if s.Timed() != 4 {
		t.Fatalf("timed %d steps, want 4", s.Timed())
	}
	if got := s.Mean(); math.Abs(got-0.025) > 1e-12 {
		t.Errorf("mean %v, want 0.025", got)
	}
	if got := s.Median(); math.Abs(got-0.025) > 1e-12 {
		t.Errorf("median %v, want 0.025", got)
	}
	s.Add(500 * time.Millisecond)
	if got := s.Median(); math.Abs(got-0.030) > 1e-12 {
		t.Errorf("odd median %v, want 0.030", got)
	}
	var empty Steps
	if empty.Mean() != 0 || empty.Median() != 0 {
		t.Error("empty steps should report 0")
	}
}

func TestRatios(t *testing.T) {
	if got := Overhead(1.05, 1.0); math.Abs(got-0.05) > 1e-12 {
		t.Errorf("overhead %v, want 0.05", got)
	}
	if !math.IsNaN(Overhead(1, 0)) || !math.IsNaN(Ratio(1, 0)) {
		t.Error("division by zero should give NaN")
	}
	if Ratio(3, 2) != 1.5 || PerSec(32, 2) != 16 || PerSec(1, 0) != 0 {
		t.Error("ratio or per-second arithmetic wrong")
	}
	if Finite(math.NaN()) != 0 || Finite(math.Inf(1)) != 0 || Finite(2) != 2 {
		t.Error("Finite")
	}
	snaps := []Snapshot{{Step: 0, TotalMB: 50}, {Step: 100, TotalMB: 200}, {Step: 200, TotalMB: 205}, {Step: 300, TotalMB: 210}}
	g, from, err := Growth(snaps, 100)
	if err != nil || from != 100 || math.Abs(g-0.05) > 1e-12 {
		t.Errorf("growth %v from %d (%v), want 0.05 from 100", g, from, err)
	}
	if _, _, err := Growth(snaps, 300); err == nil {
		t.Error("growth from the last sample alone: want an error")
	}
}

func TestReadRecords(t *testing.T) {
	in := "building...\n{\"impl\":\"gotch\",\"sec_per_step\":2.5,\"split\":{\"sec_per_step\":3}}\nnoise\n{\"impl\":\"pytorch\",\"sec_per_step\":2}\n"
	recs, err := ReadRecords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].String("impl") != "pytorch" {
		t.Fatalf("records %v", recs)
	}
	if v, err := recs[0].Number("split.sec_per_step"); err != nil || v != 3 {
		t.Errorf("nested field: %v, %v", v, err)
	}
	for _, bad := range []string{"nope", "impl", "split.nope", "sec_per_step.x"} {
		if _, err := recs[0].Number(bad); err == nil {
			t.Errorf("field %q: want an error", bad)
		}
	}
	if _, err := ReadRecords(strings.NewReader("no json here\n")); err == nil {
		t.Error("no records: want an error")
	}
	if _, err := ReadRecords(strings.NewReader("{broken\n")); err == nil {
		t.Error("broken JSON: want an error")
	}
}

func TestRandomPairs(t *testing.T) {
	d, err := NewRandomPairs(PairsConfig{Batch: 3, Batches: 2, Channels: 1, Size: 4, Words: []string{"a", "b"}, Tokens: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := d.Describe(ctx, "train")
	if err != nil || info.Len != 6 || info.Task != sdk.TaskPaired {
		t.Fatalf("describe: %+v %v", info, err)
	}
	b0, err := d.Batch(ctx, sdk.BatchRequest{Indices: []int{5, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := d.Batch(ctx, sdk.BatchRequest{Indices: []int{0, 3, 4}})
	b2, _ := d.Batch(ctx, sdk.BatchRequest{Indices: []int{0, 3, 4}})
	if b0 == b1 || b0 != b2 {
		t.Error("batches are not served in turn")
	}
	if got := b0.Images.Shape; len(got) != 4 || got[0] != 3 || got[1] != 1 || got[2] != 4 {
		t.Errorf("image shape %v", got)
	}
	if len(b0.Texts) != 3 || len(strings.Fields(b0.Texts[0])) != 5 || len(b0.IDs) != 3 {
		t.Errorf("texts %q ids %v", b0.Texts, b0.IDs)
	}
	if _, err := d.Batch(ctx, sdk.BatchRequest{Indices: []int{0}}); err == nil {
		t.Error("wrong batch size: want an error")
	}
	if _, err := NewRandomPairs(PairsConfig{Batch: 1}); err == nil {
		t.Error("no words: want an error")
	}
}

func TestReduce(t *testing.T) {
	recs := []Record{{"s": 4.0}, {"s": 1.0}, {"s": 3.0}, {"s": 2.0}}
	for how, want := range map[string]float64{ReduceLast: 2, ReduceMedian: 2.5, ReduceMin: 1} {
		got, err := Reduce(recs, "s", how)
		if err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", how, got, err, want)
		}
	}
	if _, err := Reduce(recs, "s", "mean"); err == nil || !strings.Contains(err.Error(), "mean") {
		t.Errorf("unknown reduction: %v", err)
	}
	if _, err := Reduce(append(recs, Record{"t": 1.0}), "s", ReduceMedian); err == nil || !strings.Contains(err.Error(), "record 5") {
		t.Errorf("missing field: %v", err)
	}
	if _, err := Reduce(nil, "s", ReduceLast); err == nil {
		t.Error("no records: no error")
	}
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("Median = %v", m)
	}
}

func TestParseStat(t *testing.T) {
	// A command name with a space and a parenthesis, as a plugin's could be.
	line := "4242 (conv (irt) R 1 4242 4242 0 -1 4194560 1500 0 7 0 250 35 0 0 20 0 9 0 100 1000 300 18446744073709551615\n"
	u, err := ParseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Usage{UserSec: 2.5, SysSec: 0.35, MinFlt: 1500, MajFlt: 7}); u != want {
		t.Errorf("ParseStat = %+v, want %+v", u, want)
	}
	for _, bad := range []string{"", "1 (x) R 1 2", "1 (x) R 1 2 3 4 5 6 lots 8 9 10 11 12 13"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q): no error", bad)
		}
	}
	if d := (Usage{UserSec: 3, MinFlt: 10}).Sub(Usage{UserSec: 1, MinFlt: 4}).Div(2); d != (Usage{UserSec: 1, MinFlt: 3}) {
		t.Errorf("Sub/Div = %+v", d)
	}
}

func TestReadUsage(t *testing.T) {
	procs := []Watched{{Name: "self"}}
	before, err := Usages(procs)
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU and touch fresh memory so both counters move.
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i ^ (x >> 3)
	}
	after, err := Usages(procs)
	if err != nil {
		t.Fatal(err)
	}
	sum := Accumulate(nil, before, after)
	sum = Accumulate(sum, before, after)
	d := Total(PerStep(sum, 2))
	if d.UserSec+d.SysSec <= 0 || d.MinFlt < 1000 || sum[0].Name != "self" {
		t.Errorf("usage did not move: %+v (x %d, %d)", sum, x, buf[4096])
	}
	if _, err := Usages([]Watched{{Name: "gone", PID: 1 << 30}}); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("missing process: %v", err)
	}
}

func TestKBField(t *testing.T) {
	rollup := "00400000-7ffd [rollup]\nRss:              796020 kB\nAnonHugePages:    559104 kB\n"
	if v, err := kBField(rollup, "AnonHugePages"); err != nil || v != 546 {
		t.Errorf("AnonHugePages = %v, %v; want 546 MiB", v, err)
	}
	if _, err := kBField(rollup, "Swap"); err == nil || !strings.Contains(err.Error(), "no Swap line") {
		t.Errorf("missing line: %v", err)
	}
	if _, err := kBField("AnonHugePages: 12 pages\n", "AnonHugePages"); err == nil {
		t.Error("wrong unit: no error")
	}
}

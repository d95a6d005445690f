package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/thp"
	"github.com/convirt/convirt/plugins/datasets/prepare"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/registry"
)

// serveArgs serve a built-in as convirt does (`convirt plugin serve NAME`);
// TestMain answers them, so the test binary is the plugin executable.
func serveArgs(name string) []string { return []string{"plugin", "serve", name} }

func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if err := builtin.Serve(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testBench is the drivers wired as cmd/convirt wires them: the built-ins
// this package links (encoders, loss, datasets), served by the test binary.
var testBench = &Bench{
	Registry: func() *registry.Registry {
		return &registry.Registry{Builtins: registry.Builtins{Entries: builtin.List(), Args: serveArgs}}
	},
	PrepareProgress: func(w io.Writer) func(int64, string) prepare.Bar {
		return func(total int64, label string) prepare.Bar { return progress.New(w, total, label) }
	},
}

// runCLI runs a bench command as convirt's dispatcher does and returns its
// exit code (0, 1, or 2 for a usage error, which also prints the usage
// line), stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	for _, c := range testBench.Commands() {
		if len(args) < 2 || c.Name != args[0]+" "+args[1] {
			continue
		}
		err := c.Run(context.Background(), args[2:], &out, &errb)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0, out.String(), errb.String()
		case errors.Is(err, cli.ErrUsage):
			fmt.Fprintf(&errb, "convirt %s: %v\nusage: convirt %s %s\n", c.Name, err, c.Name, c.Usage)
			return 2, out.String(), errb.String()
		default:
			fmt.Fprintf(&errb, "convirt %s: %v\n", c.Name, err)
			return 1, out.String(), errb.String()
		}
	}
	t.Fatalf("no bench command %q", args)
	return 0, "", ""
}

// benchJSON runs a bench command that prints one JSON object and decodes it.
func benchJSON(t *testing.T, v any, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("convirt %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	return errOut
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestBenchConvirtSmoke runs two timed ConVIRT steps through three plugin
// processes at toy size, alternating with the same step in one autograd
// graph, and checks the record: timings, the per-process memory, and that
// both ways computed the same loss.
func TestBenchConvirtSmoke(t *testing.T) {
	var r convirtResult
	errOut := benchJSON(t, &r, "bench", "convirt", "--image", "smallcnn", "--text", "tiny", "--batch", "4", "--size", "32",
		"--text-len", "8", "--steps", "2", "--warmup", "1", "--threads", "1", "--inprocess", "--rss-every", "1", "--json")
	if r.Bench != "convirt" || r.Batch != 4 || r.Steps != 2 || r.Threads != 1 || r.GradCacheChunk != 0 {
		t.Errorf("header fields: %+v", r)
	}
	if r.SecPerStep <= 0 || !near(r.ItemsPerSec, 4/r.SecPerStep, 1e-9) || r.SecMedian <= 0 {
		t.Errorf("timing: %v s/step, %v items/s, median %v", r.SecPerStep, r.ItemsPerSec, r.SecMedian)
	}
	names := map[string]int{}
	var peaks float64
	for _, p := range r.Procs {
		names[p.Name] = p.PID
		if p.RSSMB <= 0 || p.PeakMB < p.RSSMB {
			t.Errorf("process %s: implausible memory %+v", p.Name, p.Mem)
		}
		peaks += p.PeakMB
	}
	if len(names) != 4 || names["host"] != os.Getpid() || names["image"] == 0 || names["text"] == names["image"] || names["loss"] == 0 {
		t.Errorf("processes: %+v", r.Procs)
	}
	// The host starts every plugin with malloc on huge pages (core/thp).
	if thpMode() != "never" && os.Getenv(thp.OptOutVar) != "0" && r.Procs[1].AnonHugeMB <= 0 {
		t.Errorf("THP mode %q but plugin %s has no memory on huge pages: %+v", thpMode(), r.Procs[1].Name, r.Procs[1].Mem)
	}
	if !near(r.RSSPeakTotalMB, peaks, 1e-9) || !r.RSSIncludesInProcess {
		t.Errorf("peak total %v, sum of peaks %v", r.RSSPeakTotalMB, peaks)
	}
	if len(r.RSSSamples) != 4 || r.RSSGrowth == nil || r.RSSGrowthFromStep != 1 || !strings.Contains(errOut, "step 3: RSS total") {
		t.Errorf("memory samples: %d, growth %v from step %d; stderr %q", len(r.RSSSamples), r.RSSGrowth, r.RSSGrowthFromStep, errOut)
	}
	in := r.InProcess
	if in == nil || in.Mode != "graph" || in.SecPerStep <= 0 || r.SplitOverhead == nil || r.SplitOverheadMedian == nil {
		t.Fatalf("in-process reference missing: %+v", in)
	}
	if !near(*r.SplitOverhead, r.SecPerStep/in.SecPerStep-1, 1e-9) {
		t.Errorf("overhead %v from %v and %v", *r.SplitOverhead, r.SecPerStep, in.SecPerStep)
	}
	// CPU ticks are 10 ms, so a toy step may read zero, never less.
	for _, u := range []bench.Usage{r.UsagePerStep, in.UsagePerStep} {
		if u.UserSec < 0 || u.SysSec < 0 || u.MinFlt < 0 || u.MajFlt < 0 {
			t.Errorf("negative usage: %+v", u)
		}
	}
	// The split step and the one-graph step are the same computation.
	if r.LastLoss == 0 || !near(r.LastLoss, in.LastLoss, 1e-4) {
		t.Errorf("last loss: split %v, in-process %v", r.LastLoss, in.LastLoss)
	}
}

// TestBenchConvirtGradCache runs the GradCache step split and in-process
// (core/train's loop): the losses must agree to dropout noise.
func TestBenchConvirtGradCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	var r convirtResult
	benchJSON(t, &r, "bench", "convirt", "--image", "smallcnn", "--text", "tiny", "--batch", "4", "--size", "32",
		"--text-len", "8", "--steps", "1", "--threads", "1", "--gradcache", "2", "--inprocess", "--json")
	if r.GradCacheChunk != 2 || r.InProcess == nil || r.InProcess.Mode != "loop" || r.RSSGrowth == nil {
		t.Fatalf("record: %+v", r)
	}
	// Loose: in one process both encoders' forwards run at once and reseed
	// libtorch's one global generator, so the text encoder's dropout draws
	// differ from run to run (in separate processes they do not).
	if !near(r.LastLoss, r.InProcess.LastLoss, 2e-2) {
		t.Errorf("last loss: split %v, in-process %v", r.LastLoss, r.InProcess.LastLoss)
	}
}

// TestBenchConvirtLengthBuckets runs the split step on texts of mixed
// length regrouped by length, the encoders in turn, and checks the record
// says so.
func TestBenchConvirtLengthBuckets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	var r convirtResult
	benchJSON(t, &r, "bench", "convirt", "--image", "smallcnn", "--text", "tiny", "--batch", "4", "--size", "32",
		"--text-len", "16", "--text-len-min", "4", "--length-buckets", "4", "--steps", "4", "--threads", "1", "--sequential", "--json")
	if r.LengthBuckets != 4 || r.TextLenMin != 4 || !r.Sequential || r.SecPerStep <= 0 || math.IsNaN(r.LastLoss) {
		t.Fatalf("record: %+v", r)
	}
}

func TestBenchBoundarySmoke(t *testing.T) {
	var r boundaryResult
	benchJSON(t, &r, "bench", "boundary", "--image", "smallcnn", "--batch", "2", "--size", "32", "--steps", "2", "--threads", "1", "--backward", "--json")
	if r.SecPerStep <= 0 || r.InProcess == nil || r.InProcess.SecPerStep <= 0 || !r.Backward {
		t.Fatalf("record: %+v", r)
	}
	if !near(r.OverheadSec, r.SecPerStep-r.InProcess.SecPerStep, 1e-9) || !near(r.InputMB, 2*32*32*4/float64(1<<20), 1e-9) {
		t.Errorf("derived fields: %+v", r)
	}
}

// thpMode is the kernel's transparent huge page mode (always, madvise or
// never); "never" where the kernel has no THP.
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return "never"
	}
	s := string(b)
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return "never"
	}
	return s[i+1 : j]
}

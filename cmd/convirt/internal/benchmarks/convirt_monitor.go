package benchmarks

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/wordpiece"
)

// benchVocabSize is BERT-base's vocabulary size, so the benchmark's
// embedding tables have the real model's shape.
const benchVocabSize = 30522

// writeBenchVocab writes a WordPiece vocabulary of whole words w0, w1, ...
// into dir, sets o.vocabPath, and returns the words: a text of k of them
// tokenises to exactly k tokens.
func writeBenchVocab(dir string, o *convirtOpts) ([]string, error) {
	special := []string{wordpiece.PAD, wordpiece.UNK, wordpiece.CLS, wordpiece.SEP, "[MASK]"}
	words := make([]string, benchVocabSize-len(special))
	for i := range words {
		words[i] = "w" + strconv.Itoa(i)
	}
	o.vocabPath = filepath.Join(dir, "vocab.txt")
	f, err := os.Create(o.vocabPath)
	if err != nil {
		return nil, err
	}
	if err := wordpiece.WriteVocab(f, append(special, words...)); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", o.vocabPath, err)
	}
	return words, f.Close()
}

// stepMonitor follows core/train's loop as its Progress and Recorder: it
// times each split step (from the end of the previous callback to this one),
// runs one in-process reference step between split steps, and samples the
// memory of every process and the CPU time and page faults all of them spend
// in each timed step of either kind. A failure cancels the loop through
// cancel.
type stepMonitor struct {
	o      *convirtOpts
	procs  []bench.Watched
	log    io.Writer
	ref    *inProcessRef
	cancel context.CancelFunc

	split, inproc       bench.Steps
	last                time.Time
	lastUse             []bench.ProcUsage // every process's usage at last
	splitUse, inUse     []bench.ProcUsage // summed over timed steps
	step                int
	firstLoss, lastLoss float64
	refLoss             float64
	snaps               []bench.Snapshot
	err                 error
}

// LogMetric implements train.Recorder.
func (m *stepMonitor) LogMetric(key string, v float64, step int64) error {
	if key == "train/loss" {
		if int(step) == m.o.Warmup+1 {
			m.firstLoss = v
		}
		m.lastLoss = v
	}
	return nil
}

// Describe implements train.Progress.
func (m *stepMonitor) Describe(string) {}

// Add implements train.Progress: it is called once after every step.
func (m *stepMonitor) Add(n int) {
	m.split.Add(time.Since(m.last))
	m.step += n
	if m.err == nil {
		if err := m.between(); err != nil {
			m.err = err
			m.cancel()
		}
	}
	m.last = time.Now()
	m.lastUse = m.usage()
}

// usage reads the CPU time and page faults of every process; a failure
// (a process that exited) stops the loop.
func (m *stepMonitor) usage() []bench.ProcUsage {
	u, err := bench.Usages(m.procs)
	if err != nil && m.err == nil {
		m.err = err
		m.cancel()
	}
	return u
}

// between runs the untimed work after a split step and accounts the split
// step's usage.
func (m *stepMonitor) between() error {
	timed := m.step > m.o.Warmup
	now := m.usage()
	if timed {
		m.splitUse = bench.Accumulate(m.splitUse, m.lastUse, now)
	}
	if m.ref != nil {
		t := time.Now()
		loss, err := m.ref.Step(context.Background())
		if err != nil {
			return fmt.Errorf("in-process step %d: %w", m.step, err)
		}
		m.inproc.Add(time.Since(t))
		if timed {
			m.inUse = bench.Accumulate(m.inUse, now, m.usage())
		}
		m.refLoss = loss
	}
	every := m.o.RSSEvery
	if m.step == m.o.Warmup || m.step == m.o.Warmup+m.o.Steps || every > 0 && m.step%every == 0 {
		return m.sample()
	}
	return nil
}

// sample records the memory of every process at the current step.
func (m *stepMonitor) sample() error {
	if n := len(m.snaps); n > 0 && m.snaps[n-1].Step == m.step {
		return nil
	}
	s, err := bench.Sample(m.step, m.procs)
	if err != nil {
		return err
	}
	m.snaps = append(m.snaps, s)
	if m.o.RSSEvery > 0 {
		fmt.Fprintln(m.log, s.String())
	}
	return nil
}

// result assembles the JSON record once the loop has finished.
func (m *stepMonitor) result() (convirtResult, error) {
	o := m.o
	threads := o.Threads
	if threads == 0 {
		threads = torchrt.NumThreads()
	}
	r := convirtResult{Impl: "gotch", Bench: "convirt", Image: o.Image, Text: o.Text, Batch: o.Batch, Size: o.Size,
		TextLen: o.TextLen, Steps: o.Steps, Warmup: o.Warmup, Threads: threads, Device: o.Device, GradCacheChunk: o.GradCache,
		TextLenMin: o.TextLenMin, LengthBuckets: o.LengthBuckets, ImageThreads: o.ImageThreads, TextThreads: o.TextThreads, Sequential: o.Sequential,
		Precision: o.Precision, ChannelsLast: o.ChannelsLast,
		SecPerStep: m.split.Mean(), SecMedian: m.split.Median(), FirstLoss: m.firstLoss, LastLoss: m.lastLoss,
		RSSIncludesInProcess: m.ref != nil}
	r.ProcsUsagePerStep = bench.PerStep(m.splitUse, m.split.Timed())
	r.UsagePerStep = bench.Total(r.ProcsUsagePerStep)
	r.ItemsPerSec = bench.PerSec(o.Batch, r.SecPerStep)
	if len(m.snaps) == 0 {
		return r, fmt.Errorf("bench convirt: no memory sample was taken")
	}
	end := m.snaps[len(m.snaps)-1]
	r.RSSPeakTotalMB, r.RSSEndTotalMB, r.Procs = end.PeakMB, end.TotalMB, end.Procs
	if o.RSSEvery > 0 {
		r.RSSSamples = m.snaps
	}
	from := o.Warmup
	if o.RSSEvery > 0 {
		from = o.RSSEvery
	}
	if g, at, err := bench.Growth(m.snaps, from); err == nil {
		g = bench.Finite(g)
		r.RSSGrowth, r.RSSGrowthFromStep = &g, at
	}
	if m.ref != nil {
		in := newStepStats(m.ref.mode, &m.inproc, o.Batch)
		in.LastLoss, in.UsagePerStep = m.refLoss, bench.Total(bench.PerStep(m.inUse, m.inproc.Timed()))
		r.InProcess = in
		mean := bench.Finite(bench.Overhead(r.SecPerStep, in.SecPerStep))
		med := bench.Finite(bench.Overhead(r.SecMedian, in.SecPerStepMedian))
		r.SplitOverhead, r.SplitOverheadMedian = &mean, &med
	}
	return r, nil
}

func printConvirt(w io.Writer, r convirtResult) {
	mode := "plain step"
	if r.GradCacheChunk > 0 {
		mode = fmt.Sprintf("GradCache chunk %d", r.GradCacheChunk)
	}
	fmt.Fprintf(w, "ConVIRT %s + BERT-%s, batch %d, %d px, %d tokens, %s, %d threads per process\n",
		r.Image, r.Text, r.Batch, r.Size, r.TextLen, mode, r.Threads)
	fmt.Fprintf(w, "  split (plugin processes): %.3f s/step (median %.3f), %.1f pairs/s, loss %.4g -> %.4g\n",
		r.SecPerStep, r.SecMedian, r.ItemsPerSec, r.FirstLoss, r.LastLoss)
	fmt.Fprintf(w, "    per step, all processes: %s\n", usageText(r.UsagePerStep))
	for _, p := range r.ProcsUsagePerStep {
		fmt.Fprintf(w, "      %-6s %s\n", p.Name, usageText(p.Usage))
	}
	if in := r.InProcess; in != nil {
		fmt.Fprintf(w, "  in-process (%s):         %.3f s/step (median %.3f), %.1f pairs/s, loss %.4g\n",
			in.Mode, in.SecPerStep, in.SecPerStepMedian, in.ItemsPerSec, in.LastLoss)
		fmt.Fprintf(w, "    per step, all processes: %s\n", usageText(in.UsagePerStep))
		fmt.Fprintf(w, "  split overhead: %+.1f%% (medians %+.1f%%)\n", 100**r.SplitOverhead, 100**r.SplitOverheadMedian)
	}
	fmt.Fprintf(w, "  memory: peak %.0f MB summed over processes, %.0f MB at the end", r.RSSPeakTotalMB, r.RSSEndTotalMB)
	for _, p := range r.Procs {
		fmt.Fprintf(w, "; %s %.0f (peak %.0f)", p.Name, p.RSSMB, p.PeakMB)
	}
	fmt.Fprintln(w)
	if r.RSSGrowth != nil {
		fmt.Fprintf(w, "  RSS growth from step %d to the end: %+.1f%%\n", r.RSSGrowthFromStep, 100**r.RSSGrowth)
	}
}

// usageText is one line of per-step CPU time and page faults.
func usageText(u bench.Usage) string {
	return fmt.Sprintf("CPU %.3f s user + %.3f s sys, %.0f minor and %.0f major page faults", u.UserSec, u.SysSec, u.MinFlt, u.MajFlt)
}

// Package bench holds what the `convirt bench` commands share: resident
// memory of the host and plugin processes read from /proc, step timing,
// overhead and growth ratios, the JSON result records, and an in-memory
// paired dataset of pre-made random batches, so benchmarks of the training
// step do not measure data loading.
package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mem is one process's resident memory in MiB: the current resident set
// (VmRSS), its high-water mark (VmHWM), and how much of it is anonymous
// memory on transparent huge pages (AnonHugePages; package core/thp).
type Mem struct {
	RSSMB      float64 `json:"rss_mb"`
	PeakMB     float64 `json:"peak_mb"`
	AnonHugeMB float64 `json:"anon_huge_mb"`
}

// procPath is /proc/<pid>/file; pid 0 is the calling process.
func procPath(pid int, file string) string {
	if pid == 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// ReadMem reads the resident memory of process pid (0: this process) from
// /proc/<pid>/status and, where the kernel has it (Linux 4.14+),
// /proc/<pid>/smaps_rollup.
func ReadMem(pid int) (Mem, error) {
	f, err := os.Open(procPath(pid, "status"))
	if err != nil {
		return Mem{}, fmt.Errorf("bench: memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	m, err := ParseStatus(f)
	if err != nil {
		return Mem{}, fmt.Errorf("bench: %s: %w", f.Name(), err)
	}
	b, err := os.ReadFile(procPath(pid, "smaps_rollup"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return m, fmt.Errorf("bench: memory of pid %d: %w", pid, err)
	default:
		if m.AnonHugeMB, err = kBField(string(b), "AnonHugePages"); err != nil {
			return m, fmt.Errorf("bench: %s: %w", procPath(pid, "smaps_rollup"), err)
		}
	}
	return m, nil
}

// kBField returns the "key: N kB" line of a /proc file's text in MiB.
func kBField(text, key string) (float64, error) {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected value %q", k, strings.TrimSpace(v))
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", k, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no %s line", key)
}

// ParseStatus reads VmRSS and VmHWM (in kB) from the text of a
// /proc/<pid>/status file.
func ParseStatus(r io.Reader) (Mem, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Mem{}, err
	}
	var m Mem
	if m.RSSMB, err = kBField(string(b), "VmRSS"); err != nil {
		return m, fmt.Errorf("%w (a kernel thread, or not Linux?)", err)
	}
	if m.PeakMB, err = kBField(string(b), "VmHWM"); err != nil {
		return m, fmt.Errorf("%w (a kernel thread, or not Linux?)", err)
	}
	return m, nil
}

// ResetPeak resets the high-water mark of process pid (0: this process) to
// its current resident set (writing 5 to /proc/<pid>/clear_refs, Linux 4.0+),
// so a later VmHWM covers only what ran after.
func ResetPeak(pid int) error {
	if err := os.WriteFile(procPath(pid, "clear_refs"), []byte("5"), 0); err != nil {
		return fmt.Errorf("bench: reset peak memory of pid %d: %w", pid, err)
	}
	return nil
}

// Watched names a process whose memory and CPU time a benchmark follows.
type Watched struct {
	Name string // "host", "image encoder", ...
	PID  int    // 0: this process
}

// ProcMem is one process's memory at one moment.
type ProcMem struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Mem
}

// Snapshot is the memory of every followed process at one step.
type Snapshot struct {
	Step    int       `json:"step"`
	Procs   []ProcMem `json:"procs"`
	TotalMB float64   `json:"total_rss_mb"`
	PeakMB  float64   `json:"total_peak_mb"` // sum of the high-water marks
}

// Sample reads the memory of procs. A process that cannot be read (it
// exited) is an error naming it.
func Sample(step int, procs []Watched) (Snapshot, error) {
	s := Snapshot{Step: step}
	for _, p := range procs {
		m, err := ReadMem(p.PID)
		if err != nil {
			return s, fmt.Errorf("%s: %w", p.Name, err)
		}
		pid := p.PID
		if pid == 0 {
			pid = os.Getpid()
		}
		s.Procs = append(s.Procs, ProcMem{Name: p.Name, PID: pid, Mem: m})
		s.TotalMB += m.RSSMB
		s.PeakMB += m.PeakMB
	}
	return s, nil
}

// String is a one-line summary: the total and each process's RSS.
func (s Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d: RSS total %.0f MB (peak sum %.0f)", s.Step, s.TotalMB, s.PeakMB)
	for _, p := range s.Procs {
		fmt.Fprintf(&b, ", %s %.0f", p.Name, p.RSSMB)
	}
	return b.String()
}

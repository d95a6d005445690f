// Package bench holds what the `convirt bench` commands share: resident
// memory of the host and plugin processes read from /proc, step timing,
// overhead and growth ratios, the JSON result records, and an in-memory
// paired dataset of pre-made random batches, so benchmarks of the training
// step do not measure data loading.
package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mem is one process's resident memory in MiB: the current resident set
// (VmRSS) and its high-water mark (VmHWM).
type Mem struct {
	RSSMB  float64 `json:"rss_mb"`
	PeakMB float64 `json:"peak_mb"`
}

// procPath is /proc/<pid>/file; pid 0 is the calling process.
func procPath(pid int, file string) string {
	if pid == 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// ReadMem reads the resident memory of process pid (0: this process) from
// /proc/<pid>/status.
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
	return m, nil
}

// ParseStatus reads VmRSS and VmHWM (in kB) from the text of a
// /proc/<pid>/status file.
func ParseStatus(r io.Reader) (Mem, error) {
	var m Mem
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("%s: unexpected value %q", k, strings.TrimSpace(v))
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", k, err)
		}
		if k == "VmRSS" {
			m.RSSMB = kb / 1024
		} else {
			m.PeakMB = kb / 1024
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if seen < 2 {
		return m, errors.New("no VmRSS and VmHWM lines (a kernel thread, or not Linux)")
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

// Proc names a process whose memory a benchmark follows.
type Proc struct {
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
func Sample(step int, procs []Proc) (Snapshot, error) {
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

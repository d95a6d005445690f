package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// Usage is CPU time and page faults of one or more processes, as counted
// by the kernel in /proc/<pid>/stat. Benchmarks take the difference of two
// readings to tell where a step's time went: extra CPU work (user), kernel
// work such as faulting memory in (sys, minor faults), or waiting (wall time
// above CPU time).
type Usage struct {
	UserSec float64 `json:"user_sec"`
	SysSec  float64 `json:"sys_sec"`
	MinFlt  float64 `json:"minor_faults"`
	MajFlt  float64 `json:"major_faults"`
}

// Sub is u - v, field by field.
func (u Usage) Sub(v Usage) Usage {
	return Usage{UserSec: u.UserSec - v.UserSec, SysSec: u.SysSec - v.SysSec, MinFlt: u.MinFlt - v.MinFlt, MajFlt: u.MajFlt - v.MajFlt}
}

// Add is u + v, field by field.
func (u Usage) Add(v Usage) Usage {
	return Usage{UserSec: u.UserSec + v.UserSec, SysSec: u.SysSec + v.SysSec, MinFlt: u.MinFlt + v.MinFlt, MajFlt: u.MajFlt + v.MajFlt}
}

// Div is u with every field divided by n (a per-step average); n <= 0
// gives the zero Usage.
func (u Usage) Div(n int) Usage {
	if n <= 0 {
		return Usage{}
	}
	f := float64(n)
	return Usage{UserSec: u.UserSec / f, SysSec: u.SysSec / f, MinFlt: u.MinFlt / f, MajFlt: u.MajFlt / f}
}

// ReadUsage reads the CPU time and page faults of process pid (0: this
// process) so far, its threads included.
func ReadUsage(pid int) (Usage, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return Usage{}, fmt.Errorf("bench: CPU usage of pid %d: %w", pid, err)
	}
	u, err := ParseStat(string(b))
	if err != nil {
		return Usage{}, fmt.Errorf("bench: %s: %w", procPath(pid, "stat"), err)
	}
	return u, nil
}

// ParseStat reads minflt, majflt, utime and stime (fields 10, 12, 14 and 15)
// from the text of a /proc/<pid>/stat file. The command name (field 2) may
// hold spaces and parentheses, so fields are counted after its last ')'.
func ParseStat(s string) (Usage, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Usage{}, fmt.Errorf("no command name in %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return Usage{}, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	var v [4]float64
	for j, field := range []int{10, 12, 14, 15} {
		n, err := strconv.ParseUint(f[field-3], 10, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("field %d: %w", field, err)
		}
		v[j] = float64(n)
	}
	return Usage{MinFlt: v[0], MajFlt: v[1], UserSec: v[2] / clockTicks, SysSec: v[3] / clockTicks}, nil
}

// ProcUsage is one process's usage, named as in Watched.
type ProcUsage struct {
	Name string `json:"name"`
	Usage
}

// Usages reads the usage of each of procs, in order. A process that cannot
// be read (it exited) is an error naming it.
func Usages(procs []Watched) ([]ProcUsage, error) {
	out := make([]ProcUsage, len(procs))
	for i, p := range procs {
		u, err := ReadUsage(p.PID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		out[i] = ProcUsage{Name: p.Name, Usage: u}
	}
	return out, nil
}

// Total sums us.
func Total(us []ProcUsage) Usage {
	var t Usage
	for _, u := range us {
		t = t.Add(u.Usage)
	}
	return t
}

// Accumulate adds after - before, process by process, to sum (which it
// allocates on first use); the three lists name the same processes in the
// same order.
func Accumulate(sum, before, after []ProcUsage) []ProcUsage {
	if sum == nil {
		sum = make([]ProcUsage, len(after))
		for i, u := range after {
			sum[i].Name = u.Name
		}
	}
	for i := range sum {
		if i < len(before) && i < len(after) {
			sum[i].Usage = sum[i].Add(after[i].Sub(before[i].Usage))
		}
	}
	return sum
}

// PerStep divides every process's usage by n steps.
func PerStep(us []ProcUsage, n int) []ProcUsage {
	out := make([]ProcUsage, len(us))
	for i, u := range us {
		out[i] = ProcUsage{Name: u.Name, Usage: u.Div(n)}
	}
	return out
}

package thp

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestEnviron(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      []string
		want    []string
		changed bool
	}{
		{"added", []string{"A=1"}, []string{"A=1", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"}, true},
		{"appended", []string{"GLIBC_TUNABLES=glibc.malloc.arena_max=1", "B=2"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.hugetlb=1", "B=2"}, true},
		{"empty tunables", []string{"GLIBC_TUNABLES="}, []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=1"}, true},
		{"last assignment wins", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0", "GLIBC_TUNABLES=glibc.malloc.arena_max=2"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"}, true},
		{"user's choice kept", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, false},
		{"opted out", []string{"CONVIRT_HUGEPAGES=0", "A=1"}, []string{"CONVIRT_HUGEPAGES=0", "A=1"}, false},
		{"opt-out needs 0", []string{"CONVIRT_HUGEPAGES=1"}, []string{"CONVIRT_HUGEPAGES=1", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"}, true},
	} {
		got, changed := Environ(c.in)
		if changed != c.changed || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Environ(%q) = %q, %v; want %q, %v", c.name, c.in, got, changed, c.want, c.changed)
		}
		if again, ch := Environ(got); ch || !reflect.DeepEqual(again, got) {
			t.Errorf("%s: not idempotent: %q -> %q", c.name, got, again)
		}
	}
}

// childVar makes the test binary act as a program that calls Reexec first.
const childVar = "THP_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childVar) == "1" {
		if err := Reexec(); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		// Either re-executed (and reached here in the new image) or
		// nothing to do: report what this process started with.
		os.Stdout.WriteString(strconv.Itoa(os.Getpid()) + " " + os.Getenv(TunablesVar) + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestReexec(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) (pid int, tunables string) {
		t.Helper()
		cmd := exec.Command(exe, "-test.run=^$")
		for _, kv := range os.Environ() {
			if k, _, _ := strings.Cut(kv, "="); k != TunablesVar && k != OptOutVar {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, append(env, childVar+"=1")...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("child: %v\n%s", err, errb.String())
		}
		f := strings.Fields(out.String())
		if len(f) < 1 {
			t.Fatalf("child printed %q", out.String())
		}
		if pid, err = strconv.Atoi(f[0]); err != nil || pid != cmd.Process.Pid {
			t.Errorf("child pid %q, started as %d: the exec must keep the process", f[0], cmd.Process.Pid)
		}
		return pid, strings.Join(f[1:], " ")
	}
	if _, tun := run(); tun != Tunable {
		t.Errorf("re-executed child saw GLIBC_TUNABLES=%q, want %q", tun, Tunable)
	}
	if _, tun := run("GLIBC_TUNABLES=glibc.malloc.arena_max=1"); tun != "glibc.malloc.arena_max=1:"+Tunable {
		t.Errorf("child with other tunables saw %q", tun)
	}
	if _, tun := run("CONVIRT_HUGEPAGES=0"); tun != "" {
		t.Errorf("opted-out child saw GLIBC_TUNABLES=%q, want none", tun)
	}
}

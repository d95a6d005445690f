package host_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
)

// The binary a plugin spec names is checked (its checksum) before it runs:
// these tests swap or rewrite it between the check and the exec.

// copyFile copies src to dst with mode 0755 and appends extra.
func copyFile(t *testing.T, src, dst string, extra []byte) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write(extra); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// swapTest starts the plugin at a path that a goroutine keeps replacing,
// by rename, with one of two binaries (the verified one and another that
// runs just as well), and checks that every start either runs the verified
// binary or is refused with a checksum error. Whether a given start sees a
// swap is luck; the assertion holds for every start either way.
func swapTest(t *testing.T) {
	dir := t.TempDir()
	good, evil, path := filepath.Join(dir, "good"), filepath.Join(dir, "evil"), filepath.Join(dir, "plugin")
	copyFile(t, os.Args[0], good, nil)
	copyFile(t, os.Args[0], evil, []byte("not the verified binary"))
	copyFile(t, good, path, nil)
	goodSum, err := host.FileSHA256(good)
	if err != nil {
		t.Fatal(err)
	}
	evilSum, err := host.FileSHA256(evil)
	if err != nil {
		t.Fatal(err)
	}
	spec := plugintest.Spec(plugintest.ModeSelfHash)
	spec.Path, spec.SHA256 = path, goodSum
	spec.StartTimeout = 20 * time.Second

	var swaps atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tmp := filepath.Join(dir, "next")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			src := good
			if i%2 == 0 {
				src = evil
			}
			if err := os.Link(src, tmp); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Error(err)
				return
			}
			swaps.Add(1)
		}
	}()
	const starts = 12
	var ran, refused int
	for range starts {
		c, err := host.Start(context.Background(), spec)
		if err != nil {
			var ce *host.ChecksumError
			if !errors.As(err, &ce) || ce.Recorded != goodSum || (ce.Actual != evilSum && !ce.Changed) {
				t.Errorf("a start failed otherwise than by a checksum error: %v", err)
			}
			refused++
			continue
		}
		got := c.Process().Info().Description
		_ = c.Close()
		if got != plugintest.SelfHashPrefix+goodSum {
			t.Errorf("the host ran a binary it did not verify: the plugin reports %q, verified %s, the other is %s", got, goodSum, evilSum)
		}
		ran++
	}
	close(stop)
	wg.Wait()
	if swaps.Load() == 0 {
		t.Fatal("the file was never swapped")
	}
	t.Logf("%d swaps; %d starts ran the verified binary, %d were refused", swaps.Load(), ran, refused)

	// With the verified binary in place, the start succeeds.
	if err := os.Rename(good, path); err != nil {
		t.Fatal(err)
	}
	c, err := host.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Process().Info().Description; got != plugintest.SelfHashPrefix+goodSum {
		t.Fatalf("the plugin reports %q, want the sha256 %s", got, goodSum)
	}
}

func TestSwappedBinaryNeverRuns(t *testing.T) {
	swapTest(t)
}

// The same from a private copy, as where /proc is not mounted; the copy is
// removed once the plugin has stopped.
func TestSwappedBinaryNeverRunsFromAPrivateCopy(t *testing.T) {
	host.SetPrivateCopy(true)
	defer host.SetPrivateCopy(false)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	swapTest(t)
	if left, _ := filepath.Glob(filepath.Join(tmp, "convirt-plugin-*")); len(left) != 0 {
		t.Errorf("private copies left behind: %v", left)
	}
}

// A binary written to in place between its check and its exec does not
// run unnoticed: the host checks the executed file again once the process
// runs (when nothing can write to it any more) and stops it. Run from a
// private copy, the verified bytes run whatever happens to the original.
func TestBinaryWrittenInPlaceWhileStarting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plugin")
	copyFile(t, os.Args[0], path, nil)
	sum, err := host.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	host.SetBeforeExec(func(p string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = f.WriteString("appended after the check")
		_ = f.Close()
	})
	defer host.SetBeforeExec(nil)
	spec := plugintest.Spec(plugintest.ModeSelfHash)
	spec.Path, spec.SHA256 = path, sum

	_, err = startWithin(t, spec)
	var ce *host.ChecksumError
	if !errors.As(err, &ce) || !ce.Changed || !strings.Contains(err.Error(), `plugin "scale": refusing to run `+path+": it was written to while it was being started") {
		t.Fatalf("error = %v", err)
	}

	copyFile(t, os.Args[0], filepath.Join(dir, "fresh"), nil)
	if err := os.Rename(filepath.Join(dir, "fresh"), path); err != nil {
		t.Fatal(err)
	}
	host.SetPrivateCopy(true)
	defer host.SetPrivateCopy(false)
	c, err := startWithin(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Process().Info().Description; got != plugintest.SelfHashPrefix+sum {
		t.Fatalf("the plugin reports %q, want the verified sha256 %s", got, sum)
	}
}

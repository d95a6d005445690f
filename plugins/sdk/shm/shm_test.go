package shm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReadRemoves(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 1<<18)
	name, err := Write(data)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidName(name) {
		t.Fatalf("name %q is not valid", name)
	}
	got, err := Read(name, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("payload differs after the round trip")
	}
	if _, err := os.Stat(filepath.Join(Dir(), name)); !os.IsNotExist(err) {
		t.Fatalf("segment still exists after Read: %v", err)
	}
	if err := Remove(name); err != nil {
		t.Fatalf("removing a read segment: %v", err)
	}
}

func TestEmptySegment(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	name, err := Write(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(name, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("Read = %v, %v", got, err)
	}
}

func TestReadRejectsSizeMismatchAndBadNames(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	name, err := Write([]byte("abcd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read(name, 8); err == nil || !strings.Contains(err.Error(), "holds 4 bytes") {
		t.Fatalf("size mismatch error = %v", err)
	}
	for _, bad := range []string{"../etc/passwd", "/dev/shm/convirt-1-00", "convirt-1-xyz"} {
		if _, err := Read(bad, 1); err == nil || !strings.Contains(err.Error(), "invalid segment name") {
			t.Errorf("Read(%q) error = %v", bad, err)
		}
	}
}

func TestSweepRemovesOnlyThatPid(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvDir, dir)
	mine, err := Write([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	other := "convirt-1-0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(filepath.Join(dir, other), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := Sweep(os.Getpid())
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, mine)); !os.IsNotExist(err) {
		t.Fatal("own segment survived Sweep")
	}
	if _, err := os.Stat(filepath.Join(dir, other)); err != nil {
		t.Fatal("Sweep removed another process's segment")
	}
}

// Package shm moves large payloads between processes through shared-memory
// segments: regular files in a tmpfs directory (/dev/shm on Linux) that the
// sender creates and fills, names in a message, and the receiver maps, copies
// out and removes. Segment names encode the creator's pid so that a
// supervisor can remove whatever a crashed process left behind (Sweep).
package shm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// EnvDir names the environment variable that overrides the segment directory.
const EnvDir = "CONVIRT_SHM_DIR"

// prefix starts every segment name.
const prefix = "convirt-"

var nameRE = regexp.MustCompile(`^convirt-[0-9]+-[0-9a-f]{32}$`)

// Dir returns the directory holding segments: $CONVIRT_SHM_DIR if set, else
// /dev/shm when it exists, else the system temp directory.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// ValidName reports whether name is a segment name this package creates:
// "convirt-<pid>-<32 hex digits>", with no directory part.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// path returns the file of a validated segment name.
func path(name string) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("shm: invalid segment name %q", name)
	}
	return filepath.Join(Dir(), name), nil
}

// newName returns a fresh segment name owned by this process.
func newName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("shm: random name: %w", err)
	}
	return prefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]), nil
}

// Write creates a new segment holding a copy of data and returns its name.
// The caller owns the segment until a receiver reads it; it should Remove it
// once the exchange is over whatever its outcome.
func Write(data []byte) (string, error) {
	name, err := newName()
	if err != nil {
		return "", err
	}
	p := filepath.Join(Dir(), name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("shm: create segment: %w", err)
	}
	err = fill(f, data)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(p)
		return "", fmt.Errorf("shm: write segment %s (%d bytes): %w", p, len(data), err)
	}
	return name, nil
}

// Read copies the size bytes of the named segment out and removes the
// segment. It fails when the segment holds a different number of bytes.
func Read(name string, size int64) ([]byte, error) {
	p, err := path(name)
	if err != nil {
		return nil, err
	}
	defer os.Remove(p)
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("shm: open segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shm: stat segment %s: %w", p, err)
	}
	if st.Size() != size {
		return nil, fmt.Errorf("shm: segment %s holds %d bytes, message says %d", p, st.Size(), size)
	}
	b, err := drain(f, size)
	if err != nil {
		return nil, fmt.Errorf("shm: read segment %s: %w", p, err)
	}
	return b, nil
}

// Remove deletes the named segment; a segment already gone is not an error.
func Remove(name string) error {
	p, err := path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("shm: remove segment: %w", err)
	}
	return nil
}

// Sweep removes every segment created by process pid and returns how many it
// removed. Supervisors call it when a process they started has stopped.
func Sweep(pid int) (int, error) {
	pat := filepath.Join(Dir(), prefix+strconv.Itoa(pid)+"-*")
	matches, err := filepath.Glob(pat)
	if err != nil {
		return 0, fmt.Errorf("shm: sweep %s: %w", pat, err)
	}
	n := 0
	var errs []error
	for _, m := range matches {
		if !ValidName(filepath.Base(m)) {
			continue
		}
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

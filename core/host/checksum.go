package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// FileSHA256 returns the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ChecksumError is returned by Start for a binary whose checksum differs
// from the recorded one, or that was written to while it was being started.
type ChecksumError struct {
	Path     string
	Recorded string // what the registry recorded at install
	Actual   string // what the file hashes to now; empty when Changed
	// Changed says the file was written to between the check and the
	// start (its bytes were verified, then changed in place).
	Changed bool
}

// Error implements error.
func (e *ChecksumError) Error() string {
	if e.Changed {
		return fmt.Sprintf("refusing to run %s: it was written to while it was being started, after its sha256 %s was verified",
			e.Path, e.Recorded)
	}
	return fmt.Sprintf("refusing to start %s: its sha256 is %s but %s was recorded at install; reinstall it with `convirt plugins install` if the change is intended",
		e.Path, e.Actual, e.Recorded)
}

// forcePrivateCopy makes openVerified copy the binary even where the open
// file could be executed (tests of the copy path).
var forcePrivateCopy bool

// verifiedExe is a plugin binary whose bytes matched the recorded sha256,
// held so that exactly those bytes run, whatever happens to its path after
// the check: where /proc is mounted the open file that was hashed is what
// the kernel executes (/proc/self/fd/N in the child), elsewhere a private
// copy written from the bytes that were hashed, in a directory only this
// user can write.
type verifiedExe struct {
	path    string   // the binary as the spec names it
	sum     string   // its verified sha256
	file    *os.File // fd mode: open on the verified bytes until the start
	copyDir string   // copy mode: the private directory of the copy
	copy    string   // copy mode: the copy

	once sync.Once
}

// openVerified opens the binary at path and checks that its bytes hash to
// want.
func openVerified(path, want string) (*verifiedExe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verifying checksum: %w", err)
	}
	v := &verifiedExe{path: path, sum: strings.ToLower(want)}
	if _, ok := fdExecPath(3); ok && !forcePrivateCopy {
		v.file = f
		if err := v.check(f, io.Discard); err != nil {
			v.release()
			return nil, err
		}
		return v, nil
	}
	defer f.Close()
	if v.copyDir, err = os.MkdirTemp("", "convirt-plugin-"); err != nil { // mode 0700
		return nil, fmt.Errorf("copying %s to run it: %w", path, err)
	}
	v.copy = filepath.Join(v.copyDir, filepath.Base(path))
	out, err := os.OpenFile(v.copy, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err == nil {
		err = v.check(f, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Chmod(v.copy, 0o500)
	}
	if err != nil {
		v.release()
		if _, ok := err.(*ChecksumError); !ok {
			err = fmt.Errorf("copying %s to run it: %w", path, err)
		}
		return nil, err
	}
	return v, nil
}

// check hashes what it reads from f, writing it to w too, and compares.
func (v *verifiedExe) check(f io.Reader, w io.Writer) error {
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(h, w), f); err != nil {
		return fmt.Errorf("verifying checksum: hashing %s: %w", v.path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != v.sum {
		return &ChecksumError{Path: v.path, Recorded: v.sum, Actual: got}
	}
	return nil
}

// prepare points cmd at the verified bytes; argv[0] stays the path the
// user knows.
func (v *verifiedExe) prepare(cmd *exec.Cmd) {
	if v.file != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, v.file)
		cmd.Path, _ = fdExecPath(2 + len(cmd.ExtraFiles)) // ExtraFiles[i] is fd 3+i
	} else {
		cmd.Path = v.copy
	}
	cmd.Err = nil // a failed PATH lookup of the name does not matter: the verified file runs
}

// started checks, once the process runs, that the file it was executed
// from still holds the verified bytes, and lets go of the file. A write in
// place between the first check and the exec would show here; after the
// exec none can happen, as the kernel refuses to open a running
// executable for writing (ETXTBSY) and refuses to execute one open for
// writing.
func (v *verifiedExe) started() error {
	if v.file == nil {
		return nil
	}
	err := v.check(io.NewSectionReader(v.file, 0, 1<<62), io.Discard)
	v.file.Close()
	v.file = nil
	if err != nil {
		return &ChecksumError{Path: v.path, Recorded: v.sum, Changed: true}
	}
	return nil
}

// release closes the file and removes the private copy; call it once the
// process has ended, or when it was never started. A nil v (a binary run
// unchecked) has nothing to release.
func (v *verifiedExe) release() {
	if v == nil {
		return
	}
	v.once.Do(func() {
		if v.file != nil {
			v.file.Close()
		}
		if v.copyDir != "" {
			_ = os.RemoveAll(v.copyDir)
		}
	})
}

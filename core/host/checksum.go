package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
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
// from the recorded one.
type ChecksumError struct {
	Path     string
	Recorded string // what the registry recorded at install
	Actual   string // what the file hashes to now
}

// Error implements error.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("refusing to start %s: its sha256 is %s but %s was recorded at install; reinstall it with `convirt plugins install` if the change is intended",
		e.Path, e.Actual, e.Recorded)
}

// verifyChecksum compares path's sha256 with want (no check when empty).
func verifyChecksum(path, want string) error {
	if want == "" {
		return nil
	}
	got, err := FileSHA256(path)
	if err != nil {
		return fmt.Errorf("verifying checksum: %w", err)
	}
	if !strings.EqualFold(got, want) {
		return &ChecksumError{Path: path, Recorded: want, Actual: got}
	}
	return nil
}

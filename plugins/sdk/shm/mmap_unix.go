//go:build unix

package shm

import (
	"fmt"
	"os"
	"syscall"
)

// fill sizes f to len(data) and copies data in through a shared mapping.
func fill(f *os.File, data []byte) error {
	if err := f.Truncate(int64(len(data))); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, len(data), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	copy(m, data)
	return syscall.Munmap(m)
}

// drain maps the first size bytes of f read-only and copies them out.
func drain(f *os.File, size int64) ([]byte, error) {
	if size == 0 {
		return []byte{}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("segment of %d bytes is too large to map", size)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	b := make([]byte, size)
	copy(b, m)
	return b, syscall.Munmap(m)
}

//go:build !unix

package shm

import (
	"io"
	"os"
)

// fill writes data to f; without mmap the file is an ordinary temp file.
func fill(f *os.File, data []byte) error {
	_, err := f.Write(data)
	return err
}

// drain reads the first size bytes of f.
func drain(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(f, b)
	return b, err
}

package recipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// DefaultMaxBytes is how many bytes a recipe and its bases may hold
// together unless the limit is raised (Options.MaxBytes, MaxBytesEnv or the
// CLI's --max-recipe-bytes). Shipped recipes hold a few kilobytes.
const DefaultMaxBytes = 1 << 20

// MaxBytesEnv names the environment variable that sets the recipe size
// limit, in bytes, when Options.MaxBytes is 0.
const MaxBytesEnv = "CONVIRT_MAX_RECIPE_BYTES"

// maxFiles bounds the files one load reads (a recipe, its bases, theirs,
// each counted every time it is loaded), which stops a base list that fans
// out at every level.
const maxFiles = 256

// raiseHint says how to raise the size limit, for errors.
const raiseHint = "raise it with --max-recipe-bytes N or " + MaxBytesEnv + "=N"

// maxBytes returns the size limit of one load: opt.MaxBytes, else
// MaxBytesEnv read through getenv, else DefaultMaxBytes.
func maxBytes(opt Options, getenv func(string) (string, bool)) (int64, error) {
	if opt.MaxBytes > 0 {
		return opt.MaxBytes, nil
	}
	if s, ok := getenv(MaxBytesEnv); ok && s != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%s=%q: want a positive number of bytes", MaxBytesEnv, s)
		}
		return n, nil
	}
	return DefaultMaxBytes, nil
}

// errNotRegular is returned by readRecipe for anything but a regular file.
var errNotRegular = errors.New("not a regular file")

// readRecipe reads the recipe file at path, which must be a regular file of
// at most budget bytes. It never blocks on a FIFO nor reads more than
// budget+1 bytes of anything: /dev/zero, a named pipe or a directory is
// refused by its kind, before any read.
func readRecipe(ctx context.Context, path string, budget int64, limit int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// O_NONBLOCK: opening a FIFO with no writer would wait for one.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s); a recipe is a YAML file", path, errNotRegular, kindOf(st.Mode()))
	}
	if st.Size() > budget {
		return nil, tooLarge(path, st.Size(), limit)
	}
	// The file may grow after the stat: read at most one byte more than the
	// budget, which tells that it did.
	data, err := io.ReadAll(io.LimitReader(f, budget+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > budget {
		return nil, tooLarge(path, int64(len(data)), limit)
	}
	return data, nil
}

func tooLarge(path string, size, limit int64) error {
	if size > limit {
		return fmt.Errorf("%s is %d bytes, over the recipe size limit of %d bytes (%s)", path, size, limit, raiseHint)
	}
	return fmt.Errorf("%s (%d bytes) takes the recipe and its bases over the size limit of %d bytes together (%s)", path, size, limit, raiseHint)
}

// kindOf names a file type for errors.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "mode " + m.String()
}

package preflight

import (
	"fmt"
	"syscall"
)

// statfsFree is the space available to an unprivileged user on the file
// system that holds dir.
func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

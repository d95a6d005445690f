//go:build !linux

package host_test

import (
	"errors"
	"time"
)

// waitExit is Linux-only (pidfd); the test that uses it skips elsewhere.
func waitExit(int, time.Duration) error { return errors.New("waitExit needs Linux") }

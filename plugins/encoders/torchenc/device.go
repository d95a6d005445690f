package torchenc

import (
	"fmt"

	"github.com/sugarme/gotch"
)

// ParseDevice reads "cpu", "cuda" or "cuda:N"; CUDA must be available.
func ParseDevice(s string) (gotch.Device, error) {
	switch {
	case s == "" || s == "cpu":
		return gotch.CPU, nil
	case s == "cuda" || len(s) > 5 && s[:5] == "cuda:":
		idx := 0
		if s != "cuda" {
			if _, err := fmt.Sscanf(s[5:], "%d", &idx); err != nil || idx < 0 {
				return gotch.CPU, fmt.Errorf("device %q: want cuda:N", s)
			}
		}
		if !gotch.CUDA.IsAvailable() {
			return gotch.CPU, fmt.Errorf("device %q requested but this libtorch has no usable CUDA (CPU build or no GPU)", s)
		}
		if n := gotch.CUDA.DeviceCount(); int64(idx) >= n {
			return gotch.CPU, fmt.Errorf("device %q requested but only %d CUDA device(s) exist", s, n)
		}
		return gotch.CudaBuilder(uint(idx)), nil
	}
	return gotch.CPU, fmt.Errorf("device %q: want cpu, cuda or cuda:N", s)
}

package preflight

import "strings"

// device checks the recipe's device.
func (k *checker) device() {
	if k.c.Device == nil {
		return
	}
	if err := k.c.Device(k.r.Device); err != nil {
		fix := "set device: cpu (--set device=cpu) to run on the CPU"
		if strings.HasPrefix(k.r.Device, "cuda") {
			fix += ", or build convirt against a CUDA libtorch on a machine with a GPU (README, GPU build: make build LIBTORCH=/path/to/libtorch)"
		}
		k.add("device", err.Error(), fix)
	}
}

package sdk

import "fmt"

// Keys of EvalResult.Metrics through which the linear evaluator reports
// its probes, and which the host records with each result (core/results).
const (
	// ProbeSelectedKey is 1 when each probe's L2 strength was chosen on a
	// validation split, 0 when it is the evaluator's fixed default.
	ProbeSelectedKey = "probe_l2_selected"
	// ProbeUnconvergedKey counts the probes whose kept fit stopped at the
	// iteration cap before converging.
	ProbeUnconvergedKey = "probe_unconverged"
	// ValExamplesKey is the number of validation examples.
	ValExamplesKey = "val_examples"
)

// ProbeL2Key is the EvalResult.Metrics key of the L2 strength of seed's
// probe.
func ProbeL2Key(seed uint64) string { return fmt.Sprintf("probe_l2:seed-%d", seed) }

package sdk

import (
	"fmt"
	"strconv"
)

// Protocols of EvalRequest.Protocol: what the host asks an evaluator to do.
// Host and evaluators name them through these constants.
const (
	// ProtocolLinear trains linear probes on frozen features (splits
	// train, val, test) at a label fraction, one per seed.
	ProtocolLinear = "linear"
	// ProtocolRetrieval ranks candidates for queries (splits candidates,
	// queries).
	ProtocolRetrieval = "retrieval"
	// ProtocolZeroShot classifies test images by the nearest prompt
	// (splits test, prompts).
	ProtocolZeroShot = "zeroshot"
	// ProtocolFinetune trains the whole image encoder with the evaluator's
	// head; the host runs its loop and drives the evaluator through the
	// requests below, never sending ProtocolFinetune itself.
	ProtocolFinetune = "finetune"

	// The fine-tuning protocols. The host trains the encoder and drives the
	// evaluator's head through Grad; these score what it produced.

	// ProtocolPredict returns the head's probabilities for every split of
	// the request, with the mean loss of each labelled one.
	ProtocolPredict = "predict"
	// ProtocolScore aggregates the test probabilities of the probes, one
	// split SeedSplit(n) per seed, as the linear protocol does.
	ProtocolScore = "score"
	// ProtocolSnapshot keeps a copy of the head (the host's best epoch).
	ProtocolSnapshot = "snapshot"
	// ProtocolRestore makes the kept copy the head again.
	ProtocolRestore = "restore"
)

// RecipeProtocols are the protocols a recipe's evaluation may name
// (evaluate[].protocol), in the order the recipe reference lists them. This
// is their one list: the recipe validator takes its allowed values from it,
// and the host (core/experiment) registers one implementation for each.
var RecipeProtocols = []string{ProtocolLinear, ProtocolFinetune, ProtocolRetrieval, ProtocolZeroShot}

// Split names of EvalRequest.Splits.
const (
	SplitTrain      = "train"
	SplitVal        = "val"
	SplitTest       = "test"
	SplitCandidates = "candidates"
	SplitQueries    = "queries"
	SplitPrompts    = "prompts"
)

// SeedSplit names the split of seed's probe in a ProtocolScore request.
func SeedSplit(seed int64) string { return "seed-" + strconv.FormatInt(seed, 10) }

// TopHitsPrefix starts the name of an EvalResult.Curves entry of the
// retrieval protocol that holds one query's top hits (TopHitsCurve).
const TopHitsPrefix = "top-hits:"

// TopHitsCurve names the curve of the top hits of the query in row query of
// the queries split: X holds the candidate rows, most similar first, Y
// their cosine similarities. The host shows a few in its report.
func TopHitsCurve(query int) string { return TopHitsPrefix + strconv.Itoa(query) }

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

// LossKey is the EvalResult.Metrics key of the head's mean loss on the one
// labelled split of a ProtocolPredict request (fine-tuning's validation
// loss, which the host reads).
const LossKey = "loss"

// ProbeL2Key is the EvalResult.Metrics key of the L2 strength of seed's
// probe.
func ProbeL2Key(seed uint64) string { return fmt.Sprintf("probe_l2:seed-%d", seed) }

package evalplugin

import (
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
)

// Names of the built-in evaluator plugins.
const (
	LinearName    = "linear"
	RetrievalName = "retrieval"
	ZeroShotName  = "zeroshot"
	FinetuneName  = "finetune"
)

// init registers the built-in evaluators, one line each.
func init() {
	builtin.RegisterEvaluator(LinearName, func() sdk.Evaluator { return NewLinear() })
	builtin.RegisterEvaluator(RetrievalName, func() sdk.Evaluator { return NewRetrieval() })
	builtin.RegisterEvaluator(ZeroShotName, func() sdk.Evaluator { return NewZeroShot() })
	builtin.RegisterEvaluator(FinetuneName, func() sdk.Evaluator { return NewFinetune() })
}

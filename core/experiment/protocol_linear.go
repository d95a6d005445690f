package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
)

// linearProtocol trains linear probes on the frozen image features
// (docs/evaluators.md, protocol linear).
var linearProtocol = imageProtocol{perFraction{}, (*evalRun).linear}

// linear probes the image encoder's features at every label fraction.
func (er *evalRun) linear(ctx context.Context, init string, img encoder) error {
	l, err := er.labelled(ctx)
	if err != nil {
		return err
	}
	info := l.info
	splits := map[string]*sdk.FeatureSet{}
	for _, rs := range [][2]string{{sdk.SplitTrain, l.train}, {sdk.SplitVal, l.val}, {sdk.SplitTest, l.test}} {
		role, name := rs[0], rs[1]
		if name == "" {
			continue
		}
		if splits[role], err = er.s.features(ctx, img, er.data, name, sdk.OutputFeatures, false); err != nil {
			return err
		}
	}
	seeds := make([]any, len(er.e.Seeds))
	for i, s := range er.e.Seeds {
		seeds[i] = s
	}
	for _, f := range er.e.Fractions {
		res, err := er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolLinear, Splits: splits,
			Params: map[string]any{"task": info.Task, "fraction": f, "seeds": seeds}})
		if err != nil {
			return fmt.Errorf("fraction %v: %w", f, err)
		}
		if err := er.record(ctx, sdk.ProtocolLinear, init, f, res, info.Task); err != nil {
			return err
		}
		er.bar.Add(1)
	}
	return nil
}

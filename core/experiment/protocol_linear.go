package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
)

// linearProtocol trains linear probes on the frozen image features
// (docs/evaluators.md, protocol linear).
type linearProtocol struct{ perFraction }

func (linearProtocol) run(ctx context.Context, er *evalRun, init string) error {
	return er.withImage(ctx, init, func(img encoder) error { return er.linear(ctx, init, img) })
}

// linear probes the image encoder's features at every label fraction.
func (er *evalRun) linear(ctx context.Context, init string, img encoder) error {
	trainSplit, valSplit, testSplit, err := labelSplits(ctx, er.data.client)
	if err != nil {
		return err
	}
	info, err := er.data.client.Describe(ctx, testSplit)
	if err != nil {
		return err
	}
	splits := map[string]*sdk.FeatureSet{}
	for _, rs := range [][2]string{{sdk.SplitTrain, trainSplit}, {sdk.SplitVal, valSplit}, {sdk.SplitTest, testSplit}} {
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

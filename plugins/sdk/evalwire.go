package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
)

// evalRequestToWire converts an evaluation request.
func evalRequestToWire(out *outbox, r EvalRequest) (*pb.EvaluateRequest, error) {
	m := &pb.EvaluateRequest{Protocol: r.Protocol, Splits: map[string]*pb.FeatureSet{}}
	if r.Params != nil {
		p, err := json.Marshal(r.Params)
		if err != nil {
			return nil, fmt.Errorf("params: %w", err)
		}
		m.ParamsJson = p
	}
	for name, fs := range r.Splits {
		if fs == nil {
			continue
		}
		f, err := out.tensor(fs.Features)
		if err != nil {
			return nil, fmt.Errorf("split %s features: %w", name, err)
		}
		l, err := out.tensor(fs.Labels)
		if err != nil {
			return nil, fmt.Errorf("split %s labels: %w", name, err)
		}
		m.Splits[name] = &pb.FeatureSet{Features: f, Labels: l, Ids: fs.IDs, LabelNames: fs.LabelNames, Groups: fs.Groups}
	}
	return m, nil
}

// evalRequestFromWire decodes an evaluation request.
func evalRequestFromWire(m *pb.EvaluateRequest) (EvalRequest, error) {
	r := EvalRequest{Protocol: m.Protocol, Splits: map[string]*FeatureSet{}}
	if len(m.ParamsJson) > 0 {
		if err := json.Unmarshal(m.ParamsJson, &r.Params); err != nil {
			return r, fmt.Errorf("params: %w", err)
		}
	}
	for name, fs := range m.Splits {
		f, err := fromTensor(fs.Features)
		if err != nil {
			return r, fmt.Errorf("split %s features: %w", name, err)
		}
		l, err := fromTensor(fs.Labels)
		if err != nil {
			return r, fmt.Errorf("split %s labels: %w", name, err)
		}
		r.Splits[name] = &FeatureSet{Features: f, Labels: l, IDs: fs.Ids, LabelNames: fs.LabelNames, Groups: fs.Groups}
	}
	return r, nil
}

// evalResultToWire converts an evaluation result.
func evalResultToWire(out *outbox, r EvalResult) (*pb.EvaluateResponse, error) {
	m := &pb.EvaluateResponse{Metrics: r.Metrics}
	for _, p := range r.Predictions {
		s, err := out.tensor(p.Scores)
		if err != nil {
			return nil, fmt.Errorf("predictions %s scores: %w", p.Name, err)
		}
		t, err := out.tensor(p.Targets)
		if err != nil {
			return nil, fmt.Errorf("predictions %s targets: %w", p.Name, err)
		}
		m.Predictions = append(m.Predictions, &pb.Predictions{Name: p.Name, Ids: p.IDs, Scores: s, Targets: t, Names: p.Names})
	}
	for _, s := range r.Scores {
		m.Scores = append(m.Scores, &pb.Score{Metric: s.Metric, Mean: s.Mean, Std: s.Std, CiLo: s.CILo, CiHi: s.CIHi, Seeds: s.Seeds, Values: s.Values})
	}
	for _, c := range r.Curves {
		m.Curves = append(m.Curves, &pb.Curve{Name: c.Name, XLabel: c.XLabel, YLabel: c.YLabel, X: c.X, Y: c.Y})
	}
	return m, nil
}

// evalResultFromWire decodes an evaluation result.
func evalResultFromWire(m *pb.EvaluateResponse) (EvalResult, error) {
	r := EvalResult{Metrics: m.Metrics}
	for _, p := range m.Predictions {
		s, err := fromTensor(p.Scores)
		if err != nil {
			return r, fmt.Errorf("predictions %s scores: %w", p.Name, err)
		}
		t, err := fromTensor(p.Targets)
		if err != nil {
			return r, fmt.Errorf("predictions %s targets: %w", p.Name, err)
		}
		r.Predictions = append(r.Predictions, Predictions{Name: p.Name, IDs: p.Ids, Scores: s, Targets: t, Names: p.Names})
	}
	for _, s := range m.Scores {
		r.Scores = append(r.Scores, Score{Metric: s.Metric, Mean: s.Mean, Std: s.Std, CILo: s.CiLo, CIHi: s.CiHi, Seeds: s.Seeds, Values: s.Values})
	}
	for _, c := range m.Curves {
		r.Curves = append(r.Curves, Curve{Name: c.Name, XLabel: c.XLabel, YLabel: c.YLabel, X: c.X, Y: c.Y})
	}
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	return r, nil
}

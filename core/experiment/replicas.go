package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/core/train"
)

// startEncoder starts the encoder plugin name for pretraining: one
// process, or with distributed.replicas above 1 that many data-parallel
// replicas served together as one train.Replicas (docs/distributed.md).
// What it starts goes on p.open.
func (s *session) startEncoder(ctx context.Context, p *pretrainParts, name string, cfg map[string]any) (train.Encoder, error) {
	d := s.r.Distributed
	if d.Replicas <= 1 {
		e, err := s.opt.Launcher.Encoder(ctx, name, cfg)
		if err != nil {
			return nil, err
		}
		p.open = append(p.open, e)
		return e, nil
	}
	timeout, err := d.TimeoutDuration()
	if err != nil {
		return nil, err
	}
	members, err := s.opt.Launcher.EncoderReplicas(ctx, name, cfg, d.Replicas, timeout)
	if err != nil {
		return nil, err
	}
	encs := make([]train.Encoder, len(members))
	for i, m := range members {
		p.open = append(p.open, m)
		encs[i] = m
	}
	r, err := train.NewReplicas(encs)
	if err != nil {
		return nil, fmt.Errorf("%d replicas: %w", d.Replicas, err)
	}
	fmt.Fprintf(s.log, "encoder %s: %d data-parallel replicas, gradients summed by c10d %s\n", name, d.Replicas, d.Backend)
	return r, nil
}

package optim

import (
	"fmt"
	"math"
)

// ScheduleConfig selects a learning-rate schedule.
type ScheduleConfig struct {
	Kind        string  // "none", "plateau" (the paper's) or "cosine"
	Factor      float64 // plateau: multiply the lr by this on a plateau (0.5)
	Patience    int     // plateau: validations without improvement before cutting (5)
	MinLR       float64 // plateau and cosine: floor
	WarmupSteps int     // cosine: linear warm-up steps
	TotalSteps  int     // cosine: steps to decay over
}

// Schedule changes an optimiser's learning rate as training goes.
type Schedule struct {
	cfg     ScheduleConfig
	base    float64
	best    float64
	bad     int
	hasBest bool
}

// NewSchedule validates cfg for an optimiser whose initial lr is base.
func NewSchedule(cfg ScheduleConfig, base float64) (*Schedule, error) {
	switch cfg.Kind {
	case "", "none":
		cfg.Kind = "none"
	case "plateau":
		if cfg.Factor <= 0 || cfg.Factor >= 1 {
			return nil, fmt.Errorf("schedule plateau: factor must be in (0,1), got %v", cfg.Factor)
		}
		if cfg.Patience < 0 {
			return nil, fmt.Errorf("schedule plateau: patience must be >= 0, got %d", cfg.Patience)
		}
	case "cosine":
		if cfg.TotalSteps <= 0 {
			return nil, fmt.Errorf("schedule cosine: total steps must be positive, got %d", cfg.TotalSteps)
		}
	default:
		return nil, fmt.Errorf("schedule %q: want none, plateau or cosine", cfg.Kind)
	}
	return &Schedule{cfg: cfg, base: base}, nil
}

// Apply sets o's lr for the coming step; valLoss, when not nil, is a new
// validation loss for the plateau rule (ReduceLROnPlateau semantics, mode
// min, relative threshold 1e-4).
func (s *Schedule) Apply(o *Optimizer, valLoss *float64) {
	switch s.cfg.Kind {
	case "plateau":
		if valLoss == nil {
			return
		}
		if !s.hasBest || *valLoss < s.best*(1-1e-4) {
			s.best, s.hasBest, s.bad = *valLoss, true, 0
			return
		}
		s.bad++
		if s.bad > s.cfg.Patience {
			o.SetLR(math.Max(o.LR()*s.cfg.Factor, s.cfg.MinLR))
			s.bad = 0
		}
	case "cosine":
		step := int(o.Steps()) + 1
		if step <= s.cfg.WarmupSteps {
			o.SetLR(s.base * float64(step) / float64(s.cfg.WarmupSteps))
			return
		}
		frac := math.Min(1, float64(step-s.cfg.WarmupSteps)/float64(max(1, s.cfg.TotalSteps-s.cfg.WarmupSteps)))
		o.SetLR(s.cfg.MinLR + (s.base-s.cfg.MinLR)*0.5*(1+math.Cos(math.Pi*frac)))
	}
}

// State returns the schedule's scalars for checkpoints.
func (s *Schedule) State() map[string]float64 {
	hb := 0.0
	if s.hasBest {
		hb = 1
	}
	return map[string]float64{"sched_best": s.best, "sched_bad": float64(s.bad), "sched_has_best": hb}
}

// SetState restores what State returned.
func (s *Schedule) SetState(st map[string]float64) {
	s.best, s.bad, s.hasBest = st["sched_best"], int(st["sched_bad"]), st["sched_has_best"] == 1
}

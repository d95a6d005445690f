package experiment

// attemptRecorder is pretraining's train.Recorder: the session's metrics,
// and at the start of every attempt but a new run's first, a rewind of the
// run's metrics to the step the attempt resumes from (runs.Run.Rewind), so
// that what an abandoned attempt logged past it is not kept as the run's.
// An attempt from scratch (--restart, or a restart before the first
// checkpoint) voids every earlier value, evaluations' included.
type attemptRecorder struct {
	*session
	started  bool // an attempt has begun in this process
	restarts *int // pretraining's restarts so far, logged again after a rewind
}

// Sync implements train.Syncer: the run's metrics reach the disk before
// each checkpoint.
func (a *attemptRecorder) Sync() error { return a.run.Sync() }

// Rewind implements train.Rewinder.
func (a *attemptRecorder) Rewind(step int64) error {
	if !a.started {
		a.started = true
		if a.opt.Resume == "" {
			return nil // a new run: nothing was logged before
		}
	}
	from := step
	if step == 0 {
		from = -1
	}
	if err := a.run.Rewind(from); err != nil {
		return err
	}
	if *a.restarts == 0 {
		return nil
	}
	return a.LogMetric("train/restarts", float64(*a.restarts), step)
}

package train

// Recorder receives per-step metrics (the run store, MLflow).
type Recorder interface {
	LogMetric(key string, value float64, step int64) error
}

// Rewinder is a Recorder told the step each call of Run starts after (0:
// from scratch), before it records anything, so that it can void what an
// earlier, abandoned attempt recorded past that step (runs.Run.Rewind):
// the loop records those steps again.
type Rewinder interface {
	Recorder
	Rewind(step int64) error
}

// Syncer is a Recorder that can make what it has recorded durable. The
// loop syncs it before writing each checkpoint, so that after a crash the
// record has every value up to the step a resume starts after: the values
// of the steps between would otherwise be lost, since the resumed attempt
// does not log them again.
type Syncer interface {
	Recorder
	Sync() error
}

// Progress shows the loop's progress on a terminal.
type Progress interface {
	Add(n int)
	Describe(text string)
}

// ProgressFrom is a Progress that can start at a resumed run's step.
type ProgressFrom interface {
	Progress
	From(step int)
}

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

package train

import (
	"errors"
	"fmt"
	"time"
)

// Config is the optimisation schedule of one pretraining run.
type Config struct {
	BatchSize     int           // pairs per step
	Epochs        int           // passes over the train split; 0 means unbounded
	MaxSteps      int           // stop after this many steps; 0 means unbounded
	MaxDuration   time.Duration // stop after this much training time; 0 means unbounded
	Seed          int64         // data order and augmentation
	TrainSplit    string        // default "train"
	ValSplit      string        // "" disables validation
	ValMaxBatches int           // cap on validation batches per evaluation; 0 means all
	Augment       bool          // ask the dataset for augmented samples
	Prefetch      int           // batches fetched ahead; default 2
	// GradCacheChunk > 0 enables GradCache: embeddings are computed without a
	// graph, then each encoder recomputes chunks of this size with a graph
	// and back-propagates the cached gradient slices.
	GradCacheChunk int
	// LengthBuckets > 1 turns on sentence-length bucketing: each window of
	// this many batches of the epoch is regrouped into batches of texts of
	// similar length (bucket.go), so dynamic padding pads less. 0 or 1 is
	// off (the paper's plain random batches).
	LengthBuckets int
	// SequentialEncoders runs each call on the two encoders (forward,
	// backward, optimiser step) one after the other instead of at the same
	// time. Give each encoder all the cores with it: that is the order a
	// one-process implementation runs in, and on a CPU machine it beats
	// two encoders dividing the cores between them (docs/performance.md).
	SequentialEncoders bool
	// EarlyStopPatience stops after this many validations without an
	// improvement of at least EarlyStopMinDelta; 0 disables.
	EarlyStopPatience int
	EarlyStopMinDelta float64
	// CheckpointEvery writes a checkpoint every N steps; 0 writes only at the end.
	CheckpointEvery int
	// CheckpointDir holds the checkpoints; "" disables them.
	CheckpointDir string
	// Resume continues from the newest valid checkpoint in CheckpointDir.
	Resume bool
	// MustResume makes a Resume that finds no valid checkpoint an error
	// (ErrNoCheckpoint) rather than a start at step 0: what a user's
	// `--resume` means, unlike the loop's own restart after a plugin died.
	MustResume bool
	// ResumeAt, when above 0, makes Resume continue from the checkpoint of
	// exactly this step instead of the newest: the step the hosts of a run
	// on several machines agreed on (sdk.ApartError). Without it that
	// checkpoint is an error, not a start elsewhere.
	ResumeAt int
	// Chance is the rule that flags a training loss still at chance after
	// a warm-up (chance.go); its zero value is DefaultChance.
	Chance ChanceRule
}

func (c *Config) defaults() error {
	if c.BatchSize <= 0 {
		return fmt.Errorf("train: batch size must be positive, got %d", c.BatchSize)
	}
	if c.Epochs <= 0 && c.MaxSteps <= 0 && c.MaxDuration <= 0 {
		return errors.New("train: set epochs, max_steps or max_minutes, or the run never ends")
	}
	if c.TrainSplit == "" {
		c.TrainSplit = "train"
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 2
	}
	if c.GradCacheChunk < 0 {
		return fmt.Errorf("train: grad_cache.chunk must be >= 0, got %d", c.GradCacheChunk)
	}
	if c.LengthBuckets < 0 {
		return fmt.Errorf("train: length_buckets must be >= 0, got %d", c.LengthBuckets)
	}
	return nil
}

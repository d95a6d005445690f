package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// spooled reports whether runDir holds operations a Tracker could not send.
func spooled(runDir string) bool {
	st, err := os.Stat(filepath.Join(runDir, SpoolFile))
	return err == nil && st.Size() > 0
}

// replaySpool sends the operations left in runDir's spool to the MLflow run
// recorded in its StateFile, in order, and empties the spool. An operation
// the server refuses is dropped with a warning, as the Tracker does; on a
// transient failure the unsent rest stays in the spool for another try.
func replaySpool(ctx context.Context, c *Client, runDir string) (RunInfo, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(runDir, StateFile))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return RunInfo{}, fmt.Errorf("push %s: %s: %w", runDir, StateFile, err)
	}
	info := RunInfo{RunID: st.RunID, ExperimentID: st.ExperimentID, ArtifactURI: st.ArtifactURI}
	sp := spool{path: filepath.Join(runDir, SpoolFile)}
	if err := sp.load(); err != nil {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	for sp.count > 0 {
		ops, lens, err := sp.peek(sp.size, MaxEntitiesPerBatch)
		if len(ops) == 0 {
			return info, fmt.Errorf("push %s: %w", runDir, err)
		}
		o, n := merge(ops)
		if err := sendOp(ctx, c, st, o); err != nil {
			if Transient(err) || ctx.Err() != nil {
				return info, keepUnsent(sp, fmt.Errorf("push %s: replaying %s: %w", runDir, SpoolFile, err))
			}
			c.log.Warn("mlflow push: server refused a spooled operation; dropped", "kind", o.Kind, "err", err)
		}
		for _, l := range lens[:n] {
			sp.read += l
		}
		sp.count -= n
	}
	if err := os.Remove(sp.path); err != nil && !os.IsNotExist(err) {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	return info, nil
}

// keepUnsent rewrites the spool with only the operations not yet sent, so
// that another replay does not send the others twice, and returns err.
func keepUnsent(sp spool, err error) error {
	data, rerr := os.ReadFile(sp.path)
	if rerr == nil && sp.read > 0 {
		rerr = atomicfile.Write(sp.path, data[sp.read:], 0o600)
	}
	if rerr != nil {
		return fmt.Errorf("%w (and the spool could not be trimmed: %v)", err, rerr)
	}
	return err
}

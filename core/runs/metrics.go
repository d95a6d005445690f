package runs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Metric is one logged value of a metric: a line of metrics.jsonl.
type Metric struct {
	Key   string    `json:"key"`
	Value float64   `json:"value"`
	Step  int64     `json:"step"`
	Time  time.Time `json:"time"`
}

type metricJSON struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Step  int64           `json:"step"`
	Time  time.Time       `json:"time"`
}

// MarshalJSON writes NaN and infinities as the strings "NaN", "Infinity" and
// "-Infinity" (the protobuf JSON spelling MLflow accepts), since JSON numbers
// cannot hold them and a diverging loss must still be recorded.
func (m Metric) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricJSON{Key: m.Key, Value: FormatFloat(m.Value), Step: m.Step, Time: m.Time})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var j metricJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := ParseFloat(j.Value)
	if err != nil {
		return fmt.Errorf("metric %q: %w", j.Key, err)
	}
	*m = Metric{Key: j.Key, Value: v, Step: j.Step, Time: j.Time}
	return nil
}

// FormatFloat encodes v as a JSON number, or as a JSON string for NaN and
// the infinities.
func FormatFloat(v float64) json.RawMessage {
	switch {
	case math.IsNaN(v):
		return json.RawMessage(`"NaN"`)
	case math.IsInf(v, 1):
		return json.RawMessage(`"Infinity"`)
	case math.IsInf(v, -1):
		return json.RawMessage(`"-Infinity"`)
	}
	return json.RawMessage(strconv.FormatFloat(v, 'g', -1, 64))
}

// ParseFloat decodes what FormatFloat encodes.
func ParseFloat(raw json.RawMessage) (float64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity", "+Infinity", "inf":
			return math.Inf(1), nil
		case "-Infinity", "-inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("bad float %q", s)
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("bad float %s: %w", raw, err)
	}
	return v, nil
}

// ReadMetrics reads dir/metrics.jsonl in logged order, without the values
// a rewind marker voids (Run.Rewind): those logged before it at a later
// step than the marker's, which an abandoned attempt of the run logged. A
// final line cut short by a crash is skipped; a malformed line elsewhere is
// an error naming its line number.
func ReadMetrics(dir string) ([]Metric, error) {
	path := filepath.Join(dir, MetricsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	var out []Metric
	for line := 1; ; line++ {
		b, err := rd.ReadBytes('\n')
		if err == io.EOF {
			// No trailing newline: the write of this line never completed.
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read metrics %s: %w", path, err)
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if step, ok, err := readRewind(b); err != nil {
			return out, fmt.Errorf("read metrics %s:%d: %w", path, line, err)
		} else if ok {
			out = slices.DeleteFunc(out, func(m Metric) bool { return m.Step > step })
			continue
		}
		var m Metric
		if err := json.Unmarshal(b, &m); err != nil {
			return out, fmt.Errorf("read metrics %s:%d: %w", path, line, err)
		}
		out = append(out, m)
	}
}

// rewindJSON is the line Run.Rewind writes: {"rewind":S,"time":T}.
type rewindJSON struct {
	Rewind *int64    `json:"rewind"`
	Key    *string   `json:"key,omitempty"`
	Time   time.Time `json:"time"`
}

// readRewind reports whether line b of metrics.jsonl is a rewind marker,
// and the step it rewinds to. A line with both a rewind and a key is
// neither a marker nor a value: an error.
func readRewind(b []byte) (int64, bool, error) {
	if !bytes.Contains(b, []byte(`"rewind"`)) {
		return 0, false, nil // the common case: no second decode
	}
	var r rewindJSON
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, false, err
	}
	switch {
	case r.Rewind == nil:
		return 0, false, nil // a value whose key or text mentions "rewind"
	case r.Key != nil:
		return 0, false, errors.New(`a line with both "rewind" and "key"`)
	case *r.Rewind < -1:
		return 0, false, fmt.Errorf("rewind to step %d: the lowest is -1 (every value before it)", *r.Rewind)
	}
	return *r.Rewind, true, nil
}

// Final returns the last value of each metric: the one with the highest
// step, the later one among equal steps.
func Final(ms []Metric) map[string]Metric {
	last := map[string]Metric{}
	for _, m := range ms {
		if p, ok := last[m.Key]; !ok || m.Step >= p.Step {
			last[m.Key] = m
		}
	}
	return last
}

// History returns the values of one metric ordered by step, one per step:
// the one logged last. A run continued from a checkpoint (`run --resume`,
// or a restart after a plugin died) logs the steps after that checkpoint
// again, and `run --restart` logs every step again: the later attempt's
// values are the run's (and ReadMetrics has already left out the steps the
// later attempt has not reached: Run.Rewind).
func History(ms []Metric, key string) []Metric {
	var out []Metric
	at := map[int64]int{} // step -> index in out
	for _, m := range ms {
		if m.Key != key {
			continue
		}
		if i, ok := at[m.Step]; ok {
			out[i] = m
			continue
		}
		at[m.Step] = len(out)
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}

// Keys returns the distinct metric keys in sorted order.
func Keys(ms []Metric) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range ms {
		if !seen[m.Key] {
			seen[m.Key] = true
			keys = append(keys, m.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

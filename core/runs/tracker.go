package runs

import (
	"errors"
	"strings"
)

// Tracker records a run somewhere: the local run store (*Run), an MLflow
// server (mlflow.Tracker), or several at once (Multi). Implementations must
// not block the training loop for long; a remote tracker buffers.
type Tracker interface {
	LogParams(params map[string]string) error
	LogMetrics(metrics []Metric) error
	SetTags(tags map[string]string) error
	// LogArtifact records the local file src under the artifact path name.
	LogArtifact(name, src string) error
	Finish(status Status) error
}

var _ Tracker = (*Run)(nil)

// Multi fans every call out to all trackers, in order, and joins their
// errors; one failing tracker does not stop the others.
type Multi []Tracker

// LogParams implements Tracker.
func (m Multi) LogParams(p map[string]string) error {
	return m.each(func(t Tracker) error { return t.LogParams(p) })
}

// LogMetrics implements Tracker.
func (m Multi) LogMetrics(ms []Metric) error {
	return m.each(func(t Tracker) error { return t.LogMetrics(ms) })
}

// SetTags implements Tracker.
func (m Multi) SetTags(tags map[string]string) error {
	return m.each(func(t Tracker) error { return t.SetTags(tags) })
}

// LogArtifact implements Tracker.
func (m Multi) LogArtifact(name, src string) error {
	return m.each(func(t Tracker) error { return t.LogArtifact(name, src) })
}

// Finish implements Tracker.
func (m Multi) Finish(s Status) error {
	return m.each(func(t Tracker) error { return t.Finish(s) })
}

func (m Multi) each(f func(Tracker) error) error {
	var errs []error
	for _, t := range m {
		if t == nil {
			continue
		}
		if err := f(t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TextPrefix marks a param or tag key whose value may hold report text or
// other patient text, e.g. "text:sample_report". Trackers redact such values
// (keeping the key, so it is visible that something was withheld) unless
// the recipe explicitly allows text (tracking.log_text: true).
const TextPrefix = "text:"

// Redacted replaces the value of a withheld patient-text key.
const Redacted = "[redacted: patient text]"

// IsText reports whether key is marked as holding patient text.
func IsText(key string) bool { return strings.HasPrefix(key, TextPrefix) }

// Text returns key marked as patient text: Text("sample_report") is
// "text:sample_report".
func Text(key string) string {
	if IsText(key) {
		return key
	}
	return TextPrefix + key
}

// RedactText returns kv with the values of text-marked keys replaced by
// Redacted, unless allow is true. kv itself is never modified.
func RedactText(kv map[string]string, allow bool) map[string]string {
	if kv == nil {
		return nil
	}
	out := make(map[string]string, len(kv))
	for k, v := range kv {
		if IsText(k) && !allow {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

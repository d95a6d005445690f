package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// tailLines is how many stderr lines an error about a dead plugin shows.
const tailLines = 20

// tail keeps the last lines a plugin wrote to stderr (raw, or through
// go-plugin's stdio redirection), rendering hclog JSON lines readably.
type tail struct {
	mu      sync.Mutex
	lines   []string
	partial map[string][]byte // per source, a line not yet ended
}

// writer returns an io.Writer for one source of lines.
func (t *tail) writer(source string) *tailWriter { return &tailWriter{t: t, source: source} }

// add appends complete lines from one source.
func (t *tail) add(source string, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.partial == nil {
		t.partial = map[string][]byte{}
	}
	buf := append(t.partial[source], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(buf[:i]), "\r"); line != "" {
			t.keep(render(line))
		}
		buf = buf[i+1:]
	}
	t.partial[source] = append([]byte(nil), buf...)
}

// keep appends one line, dropping the oldest beyond tailLines; t.mu is held.
func (t *tail) keep(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

// snapshot returns the kept lines plus any unterminated ones.
func (t *tail) snapshot() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	for _, p := range t.partial {
		if len(p) > 0 {
			out = append(out, render(string(p)))
		}
	}
	return out
}

// tailWriter feeds one source into a tail.
type tailWriter struct {
	t      *tail
	source string
}

// Write implements io.Writer.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.t.add(w.source, p)
	return len(p), nil
}

// addLine keeps one complete line.
func (w *tailWriter) addLine(line string) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	w.t.keep(line)
}

// render shows an hclog JSON line as "[LEVEL] message key=value ...";
// other lines are returned unchanged.
func render(line string) string {
	if !strings.HasPrefix(line, "{") {
		return line
	}
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return line
	}
	msg, _ := m["@message"].(string)
	lvl, _ := m["@level"].(string)
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", strings.ToUpper(lvl), msg)
	for k, v := range m {
		if !strings.HasPrefix(k, "@") {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
	}
	return b.String()
}

// logLines forwards lines written to it to a logger (for the plugin's
// redirected stdout and stderr after the handshake) and to a tail.
type logLines struct {
	log    hclog.Logger
	stream string
	tail   *tailWriter
	mu     sync.Mutex
	buf    []byte
}

// Write implements io.Writer.
func (l *logLines) Write(p []byte) (int, error) {
	_, _ = l.tail.Write(p) // the tail keeps the last lines; it cannot fail
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Info(string(l.buf[:i]), "stream", l.stream)
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

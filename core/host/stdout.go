package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// What the host does with a plugin's stdout (see procRunner): pass the
// go-plugin handshake line on, log other lines, and stop a plugin that
// writes too much before its handshake.

// EnvStdoutLimit is the environment variable that sets how many bytes a
// plugin may write to stdout before its handshake line (Spec.StdoutLimit,
// when set, wins).
const EnvStdoutLimit = "CONVIRT_PLUGIN_STDOUT_LIMIT"

// DefaultStdoutLimit is the stdout limit before the handshake when neither
// Spec.StdoutLimit nor $CONVIRT_PLUGIN_STDOUT_LIMIT sets one: 64 KiB, the
// longest line go-plugin itself reads.
const DefaultStdoutLimit = 64 << 10

// logLineBytes clips each line a plugin writes to stdout in the log.
const logLineBytes = 1 << 10

// handshakeRE matches go-plugin's handshake line:
// CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|PROTOCOL[|CERT...].
var handshakeRE = regexp.MustCompile(`^\d+\|\d+\|[^|]*\|[^|]*\|`)

// stdoutOverflow records a plugin that wrote more than the limit to stdout
// before its handshake.
type stdoutOverflow struct {
	limit int
	first []byte // the first bytes of the line it was writing when it passed the limit
}

// readStdout reads the plugin's stdout until it closes (see procRunner).
func (r *procRunner) readStdout() {
	br := bufio.NewReaderSize(r.stdout, 64<<10)
	var pending []byte // the line being read, before the handshake
	seen := 0          // bytes read before the handshake
	shaken := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case len(chunk) == 0:
		case shaken:
			r.line(clipLine(chunk))
		default:
			seen += len(chunk)
			pending = append(pending, chunk...)
			if seen > r.limit {
				r.overflowed(pending)
				_, _ = io.Copy(io.Discard, br)
				return
			}
			if pending[len(pending)-1] != '\n' {
				break
			}
			if line := bytes.TrimRight(pending, "\r\n"); handshakeRE.Match(line) {
				_, _ = r.handshake.Write(append(line, '\n'))
				r.handshake.Close() // go-plugin reads one line
				shaken = true
			} else if len(line) > 0 {
				r.line(clipLine(line))
			}
			pending = pending[:0]
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	if !shaken {
		if len(pending) > 0 { // an unterminated last line
			r.line(clipLine(pending))
		}
		r.handshake.Close()
	}
}

// overflowed stops a plugin that wrote more than the limit before its
// handshake; go-plugin then sees its stdout end.
func (r *procRunner) overflowed(written []byte) {
	first := written[:min(len(written), 64)]
	r.mu.Lock()
	r.overflow = &stdoutOverflow{limit: r.limit, first: append([]byte(nil), first...)}
	r.mu.Unlock()
	_ = r.Kill(context.Background())
	r.handshake.Close()
}

// overflowError returns the stdout overflow, if there was one.
func (r *procRunner) overflowError() *stdoutOverflow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overflow
}

// clipLine returns a stdout line for the log, at most logLineBytes long.
func clipLine(b []byte) string {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) <= logLineBytes {
		return string(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", b[:logLineBytes], len(b))
}

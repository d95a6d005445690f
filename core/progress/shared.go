package progress

import (
	"io"
	"os"
	"sync"
)

// Shared returns w for writers on several goroutines at once (bars, an
// interruption's notice, warnings): a file as it is, since its writes are
// already safe for concurrent use and it must stay recognisable as a
// terminal (IsTerminal), and any other writer behind a mutex, so that a
// buffer or a pipe writer sees whole writes one at a time.
func Shared(w io.Writer) io.Writer {
	switch w.(type) {
	case *os.File, *sharedWriter:
		return w
	}
	return &sharedWriter{w: w}
}

// sharedWriter serialises the writes to w.
type sharedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (s *sharedWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

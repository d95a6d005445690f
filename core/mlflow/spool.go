package mlflow

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// op is one queued tracker operation; spooled ops are JSON lines.
type op struct {
	Kind    string    `json:"kind"` // "batch", "artifact" or "finish"
	Batch   Batch     `json:"batch,omitzero"`
	Name    string    `json:"name,omitempty"`   // artifact path
	Src     string    `json:"src,omitempty"`    // local artifact file
	Status  string    `json:"status,omitempty"` // finish
	EndTime int64     `json:"end_time,omitempty"`
	at      time.Time // when it was queued in memory (not spooled)
}

// spool is the on-disk buffer: an append-only JSON-lines file of ops not yet
// sent, read from an offset and truncated once fully replayed. Appends are
// serialised by the tracker's mutex; only the sender reads and truncates.
type spool struct {
	path  string
	f     *os.File // append handle, opened lazily
	size  int64    // bytes appended (complete lines)
	read  int64    // bytes already sent
	count int      // ops appended and not yet sent
}

func (s *spool) append(o op) error {
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("mlflow spool: %w", err)
		}
		s.f = f
	}
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("mlflow spool: %w", err)
	}
	b = append(b, '\n')
	if _, err := s.f.Write(b); err != nil {
		return fmt.Errorf("mlflow spool %s: %w", s.path, err)
	}
	s.size += int64(len(b))
	s.count++
	return nil
}

// peek reads up to max ops starting at the read offset, up to limit bytes
// (the size at the time of the call), returning each op's line length.
func (s *spool) peek(limit int64, max int) ([]op, []int64, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil, fmt.Errorf("mlflow spool: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(io.NewSectionReader(f, s.read, limit-s.read))
	var ops []op
	var lens []int64
	for len(ops) < max {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			break // end of complete lines
		}
		var o op
		if err := json.Unmarshal(bytes.TrimSpace(line), &o); err != nil {
			return ops, lens, fmt.Errorf("mlflow spool %s at byte %d: %w", s.path, s.read, err)
		}
		ops = append(ops, o)
		lens = append(lens, int64(len(line)))
	}
	return ops, lens, nil
}

// reset empties the spool once everything in it has been sent.
func (s *spool) reset() error {
	s.read, s.size, s.count = 0, 0, 0
	if s.f == nil {
		return nil
	}
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("mlflow spool %s: %w", s.path, err)
	}
	return nil
}

// load picks up ops left in an existing spool file by an earlier process.
func (s *spool) load() error {
	data, err := os.ReadFile(s.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mlflow spool: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1] // drop a line cut by a crash
		if err := os.Truncate(s.path, int64(len(data))); err != nil {
			return fmt.Errorf("mlflow spool: %w", err)
		}
	}
	s.size, s.count = int64(len(data)), bytes.Count(data, []byte{'\n'})
	return nil
}

func (s *spool) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

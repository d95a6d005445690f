package mlflowtest

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Server is a fake MLflow tracking server listening on a local port
// (Server.URL). It is safe for concurrent use; its accessors return copies.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	calls       []string // "METHOD path" of the requests answered normally
	bodies      []string // request bodies of the JSON endpoints
	auth        []string // Authorization header of every answered request
	injected    int      // requests answered by the inject hook
	experiments map[string]string
	runs        map[string]*Run
	artifacts   map[string][]byte
	nextID      int
	inject      func(*http.Request) int
	changed     chan struct{} // closed and replaced after each answered call
}

// NewServer starts a fake server holding only the "Default" experiment
// (id "0"); it is closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{experiments: map[string]string{"Default": "0"}, runs: map[string]*Run{},
		artifacts: map[string][]byte{}, nextID: 1, changed: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetInject installs fn, which sees every request first and may answer it
// itself: a status >= 400 is answered with MLflow error JSON (error code
// TEMPORARILY_UNAVAILABLE), Drop drops the connection, Proceed lets the
// server answer normally. nil removes the hook. Injected answers are not
// recorded as calls; Injected counts them.
func (s *Server) SetInject(fn func(*http.Request) int) {
	s.mu.Lock()
	s.inject = fn
	s.mu.Unlock()
}

// Changed returns a channel that is closed once the server has answered
// another call and recorded what it was sent, so that a test waits for a
// client's calls without sleeping: read what it needs, and if that is not
// there yet, wait on a channel taken before reading.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Injected is the number of requests the inject hook answered.
func (s *Server) Injected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

// Count returns how many answered calls ("METHOD path") end with suffix,
// e.g. Count("runs/log-batch").
func (s *Server) Count(suffix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.HasSuffix(c, suffix) {
			n++
		}
	}
	return n
}

// Calls returns the answered calls, "METHOD path", in arrival order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Bodies returns the bodies of the answered JSON requests, in arrival order.
func (s *Server) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// Auth returns the Authorization header of each answered request.
func (s *Server) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

// ExperimentID returns the id of the experiment named name.
func (s *Server) ExperimentID(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.experiments[name]
	return id, ok
}

// Runs returns every run on the server, sorted by id (creation order).
func (s *Server) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Run, 0, len(s.runs))
	for _, r := range s.runs {
		out = append(out, r.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.RunID < out[j].Info.RunID })
	return out
}

// Run returns the run with the given id.
func (s *Server) Run(id string) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return Run{}, false
	}
	return r.clone(), true
}

// OnlyRun returns the single run on the server, failing the test when
// there is not exactly one.
func (s *Server) OnlyRun(t testing.TB) Run {
	t.Helper()
	rs := s.Runs()
	if len(rs) != 1 {
		t.Fatalf("MLflow server has %d runs, want 1", len(rs))
	}
	return rs[0]
}

// Artifacts returns the uploaded files by path below the artifact proxy
// root, e.g. "1/run0002/artifacts/plots/loss.png".
func (s *Server) Artifacts() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.artifacts))
	for k, v := range s.artifacts {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// RunArtifacts returns the uploaded files of one run by their path below
// the run's artifact root, e.g. "plots/loss.png".
func (s *Server) RunArtifacts(runID string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range s.Artifacts() {
		if _, rel, ok := strings.Cut(k, "/"+runID+"/artifacts/"); ok {
			out[rel] = v
		}
	}
	return out
}

package mlflow

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeServer implements the MLflow REST endpoints the package uses, with
// MLflow's status codes, JSON shapes and error JSON, and records calls.
type fakeServer struct {
	*httptest.Server
	mu          sync.Mutex
	calls       []string // "METHOD path"
	bodies      []string // request bodies (JSON endpoints)
	auth        []string // Authorization headers seen
	experiments map[string]string
	runs        map[string]*fakeRun
	artifacts   map[string][]byte
	nextID      int
	// inject, when set, may answer a request itself: a status code >= 400
	// (with MLflow error JSON), -1 to drop the connection, 0 to proceed.
	inject func(r *http.Request) int
}

type fakeRun struct {
	info    RunInfo
	metrics []Metric
	params  map[string]string
	tags    map[string]string
}

func newFake(t *testing.T) *fakeServer {
	f := &fakeServer{experiments: map[string]string{"Default": "0"}, runs: map[string]*fakeRun{}, artifacts: map[string][]byte{}, nextID: 1}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func apiErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	inject := f.inject
	f.mu.Unlock()
	if inject != nil {
		switch code := inject(r); {
		case code == -1:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		case code >= 400:
			apiErr(w, code, "TEMPORARILY_UNAVAILABLE", "injected failure")
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if strings.HasPrefix(r.URL.Path, "/api/2.0/mlflow-artifacts/artifacts/") {
		if r.Method != http.MethodPut {
			apiErr(w, 405, "BAD_REQUEST", "method not allowed")
			return
		}
		f.artifacts[strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow-artifacts/artifacts/")] = body
		w.Write([]byte("{}"))
		return
	}
	f.bodies = append(f.bodies, string(body))
	var req map[string]json.RawMessage
	if len(body) > 0 && json.Unmarshal(body, &req) != nil {
		apiErr(w, 400, "MALFORMED_REQUEST", "bad json")
		return
	}
	str := func(k string) string { var s string; json.Unmarshal(req[k], &s); return s }
	run := func() *fakeRun {
		fr := f.runs[str("run_id")]
		if fr == nil {
			apiErr(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Run with id=%s not found", str("run_id")))
		}
		return fr
	}
	switch r.Method + " " + strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow/") {
	case "GET experiments/get-by-name":
		name := r.URL.Query().Get("experiment_name")
		id, ok := f.experiments[name]
		if !ok {
			apiErr(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Could not find experiment with name '%s'", name))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"experiment": Experiment{ExperimentID: id, Name: name, LifecycleStage: "active"}})
	case "POST experiments/create":
		name := str("name")
		if _, ok := f.experiments[name]; ok {
			apiErr(w, 400, "RESOURCE_ALREADY_EXISTS", fmt.Sprintf("Experiment '%s' already exists.", name))
			return
		}
		id := fmt.Sprint(f.nextID)
		f.nextID++
		f.experiments[name] = id
		json.NewEncoder(w).Encode(map[string]string{"experiment_id": id})
	case "POST runs/create":
		var rq struct {
			ExperimentID string `json:"experiment_id"`
			RunName      string `json:"run_name"`
			StartTime    int64  `json:"start_time"`
			Tags         []KV   `json:"tags"`
		}
		json.Unmarshal(body, &rq)
		id := fmt.Sprintf("run%04d", f.nextID)
		f.nextID++
		fr := &fakeRun{info: RunInfo{RunID: id, RunUUID: id, RunName: rq.RunName, ExperimentID: rq.ExperimentID, Status: StatusRunning,
			StartTime: rq.StartTime, ArtifactURI: "mlflow-artifacts:/" + rq.ExperimentID + "/" + id + "/artifacts", LifecycleStage: "active"},
			params: map[string]string{}, tags: map[string]string{}}
		for _, t := range rq.Tags {
			fr.tags[t.Key] = t.Value
		}
		f.runs[id] = fr
		json.NewEncoder(w).Encode(map[string]any{"run": map[string]any{"info": fr.info, "data": map[string]any{}}})
	case "POST runs/log-batch":
		fr := run()
		if fr == nil {
			return
		}
		var b Batch
		if err := json.Unmarshal(body, &b); err != nil {
			apiErr(w, 400, "MALFORMED_REQUEST", err.Error())
			return
		}
		switch {
		case len(b.Metrics) > MaxMetricsPerBatch, len(b.Params) > MaxParamsPerBatch, len(b.Tags) > MaxTagsPerBatch, b.Len() > MaxEntitiesPerBatch:
			apiErr(w, 400, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most 1000 metrics")
			return
		}
		for _, p := range b.Params {
			if len(p.Key) > MaxKeyLength || len(p.Value) > 6000 {
				apiErr(w, 400, "INVALID_PARAMETER_VALUE", "param too long")
				return
			}
			if old, ok := fr.params[p.Key]; ok && old != p.Value {
				apiErr(w, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed")
				return
			}
			fr.params[p.Key] = p.Value
		}
		for _, t := range b.Tags {
			fr.tags[t.Key] = t.Value
		}
		fr.metrics = append(fr.metrics, b.Metrics...)
		w.Write([]byte("{}"))
	case "POST runs/update":
		fr := run()
		if fr == nil {
			return
		}
		fr.info.Status = str("status")
		json.Unmarshal(req["end_time"], &fr.info.EndTime)
		json.NewEncoder(w).Encode(map[string]any{"run_info": fr.info})
	case "POST runs/set-tag":
		fr := run()
		if fr == nil {
			return
		}
		fr.tags[str("key")] = str("value")
		w.Write([]byte("{}"))
	default:
		apiErr(w, 404, "ENDPOINT_NOT_FOUND", "no such endpoint "+r.URL.Path)
	}
}

// count returns how many recorded calls end with suffix.
func (f *fakeServer) count(suffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasSuffix(c, suffix) {
			n++
		}
	}
	return n
}

func (f *fakeServer) setInject(fn func(*http.Request) int) {
	f.mu.Lock()
	f.inject = fn
	f.mu.Unlock()
}

// onlyRun returns the single run on the server.
func (f *fakeServer) onlyRun(t *testing.T) *fakeRun {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.runs) != 1 {
		t.Fatalf("server has %d runs, want 1", len(f.runs))
	}
	for _, r := range f.runs {
		return r
	}
	return nil
}

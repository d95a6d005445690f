package mlflowtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/convirt/convirt/core/mlflow/internal/wire"
)

const (
	apiPrefix      = "/api/2.0/mlflow/"
	artifactPrefix = "/api/2.0/mlflow-artifacts/artifacts/"
)

// apiErr answers with MLflow's error JSON.
func apiErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inject := s.inject
	s.mu.Unlock()
	if inject != nil {
		if code := inject(r); code == Drop || code >= 400 {
			s.mu.Lock()
			s.injected++
			s.mu.Unlock()
			if code == Drop {
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
						return
					}
				}
				code = http.StatusBadGateway
			}
			apiErr(w, code, "TEMPORARILY_UNAVAILABLE", "injected failure")
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked() // once the call is recorded and answered
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	if rel, ok := strings.CutPrefix(r.URL.Path, artifactPrefix); ok {
		if r.Method != http.MethodPut {
			apiErr(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "method not allowed")
			return
		}
		// As a proxy in front of MLflow may (nginx without chunked
		// request bodies, some load balancers): an upload must say its
		// length up front.
		if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
			apiErr(w, http.StatusLengthRequired, "LENGTH_REQUIRED", "artifact upload without Content-Length (chunked transfer encoding is refused)")
			return
		}
		s.artifacts[rel] = body
		reply(w, struct{}{})
		return
	}
	s.bodies = append(s.bodies, string(body))
	var req map[string]json.RawMessage
	if len(body) > 0 && json.Unmarshal(body, &req) != nil {
		apiErr(w, http.StatusBadRequest, "MALFORMED_REQUEST", "request body is not JSON")
		return
	}
	str := func(k string) string {
		var v string
		json.Unmarshal(req[k], &v)
		return v
	}
	switch r.Method + " " + strings.TrimPrefix(r.URL.Path, apiPrefix) {
	case "GET experiments/get-by-name":
		s.getExperiment(w, r.URL.Query().Get("experiment_name"))
	case "POST experiments/create":
		s.createExperiment(w, str("name"))
	case "POST runs/create":
		s.createRun(w, body)
	case "POST runs/log-batch":
		if run := s.run(w, str("run_id")); run != nil {
			s.logBatch(w, run, body)
		}
	case "POST runs/update":
		if run := s.run(w, str("run_id")); run != nil {
			run.Info.Status = str("status")
			json.Unmarshal(req["end_time"], &run.Info.EndTime)
			reply(w, map[string]any{"run_info": run.Info})
		}
	case "POST runs/set-tag":
		if run := s.run(w, str("run_id")); run != nil {
			run.Tags[str("key")] = str("value")
			reply(w, struct{}{})
		}
	default:
		apiErr(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "no such endpoint "+r.Method+" "+r.URL.Path)
	}
}

// run returns the run with the given id, or answers 404 and returns nil.
func (s *Server) run(w http.ResponseWriter, id string) *Run {
	r := s.runs[id]
	if r == nil {
		apiErr(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Run with id=%s not found", id))
	}
	return r
}

func (s *Server) getExperiment(w http.ResponseWriter, name string) {
	id, ok := s.experiments[name]
	if !ok {
		apiErr(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Could not find experiment with name '%s'", name))
		return
	}
	reply(w, map[string]any{"experiment": map[string]string{"experiment_id": id, "name": name, "lifecycle_stage": "active"}})
}

func (s *Server) createExperiment(w http.ResponseWriter, name string) {
	if name == "" {
		apiErr(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'")
		return
	}
	if _, ok := s.experiments[name]; ok {
		apiErr(w, http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS", fmt.Sprintf("Experiment '%s' already exists.", name))
		return
	}
	id := fmt.Sprint(s.nextID)
	s.nextID++
	s.experiments[name] = id
	reply(w, map[string]string{"experiment_id": id})
}

func (s *Server) createRun(w http.ResponseWriter, body []byte) {
	var rq struct {
		ExperimentID string `json:"experiment_id"`
		RunName      string `json:"run_name"`
		StartTime    int64  `json:"start_time"`
		Tags         []KV   `json:"tags"`
	}
	if err := json.Unmarshal(body, &rq); err != nil {
		apiErr(w, http.StatusBadRequest, "MALFORMED_REQUEST", err.Error())
		return
	}
	id := fmt.Sprintf("run%04d", s.nextID)
	s.nextID++
	run := &Run{Info: RunInfo{RunID: id, RunUUID: id, RunName: rq.RunName, ExperimentID: rq.ExperimentID,
		Status: "RUNNING", StartTime: rq.StartTime, LifecycleStage: "active",
		ArtifactURI: "mlflow-artifacts:/" + rq.ExperimentID + "/" + id + "/artifacts"},
		Params: map[string]string{}, Tags: map[string]string{}}
	for _, t := range rq.Tags {
		run.Tags[t.Key] = t.Value
	}
	s.runs[id] = run
	reply(w, map[string]any{"run": map[string]any{"info": run.Info, "data": map[string]any{}}})
}

func (s *Server) logBatch(w http.ResponseWriter, run *Run, body []byte) {
	var b struct {
		Metrics []Metric `json:"metrics"`
		Params  []KV     `json:"params"`
		Tags    []KV     `json:"tags"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		apiErr(w, http.StatusBadRequest, "MALFORMED_REQUEST", err.Error())
		return
	}
	if len(b.Metrics) > wire.MaxMetricsPerBatch || len(b.Params) > wire.MaxParamsPerBatch || len(b.Tags) > wire.MaxTagsPerBatch ||
		len(b.Metrics)+len(b.Params)+len(b.Tags) > wire.MaxEntitiesPerBatch {
		apiErr(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most 1000 metrics, 100 params and 100 tags")
		return
	}
	for _, p := range b.Params {
		if len(p.Key) > wire.MaxKeyLength || len(p.Value) > wire.MaxParamValueLength {
			apiErr(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Param '%.60s' is too long", p.Key))
			return
		}
		if old, ok := run.Params[p.Key]; ok && old != p.Value {
			apiErr(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Changing param values is not allowed. Param with key='%s' was already logged", p.Key))
			return
		}
	}
	for _, p := range b.Params {
		run.Params[p.Key] = p.Value
	}
	for _, t := range b.Tags {
		run.Tags[t.Key] = t.Value
	}
	run.Metrics = append(run.Metrics, b.Metrics...)
	reply(w, struct{}{})
}

package mlflowtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, endpoint, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.URL+apiPrefix+endpoint, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServerKeepsMLflowRules(t *testing.T) {
	s := NewServer(t)
	code, out := post(t, s, "runs/create", `{"experiment_id":"0","run_name":"a","tags":[{"key":"k","value":"v"}]}`)
	if code != 200 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	if code, _ := post(t, s, "runs/log-batch", `{"run_id":"`+id+`","params":[{"key":"lr","value":"1"}],"metrics":[{"key":"m","value":"NaN","timestamp":1,"step":2}]}`); code != 200 {
		t.Fatalf("log-batch: %d", code)
	}
	if code, out := post(t, s, "runs/log-batch", `{"run_id":"`+id+`","params":[{"key":"lr","value":"2"}]}`); code != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" {
		t.Errorf("changed param: %d %v", code, out)
	}
	var ms []string
	for i := range 1001 {
		ms = append(ms, fmt.Sprintf(`{"key":"m","value":%d,"timestamp":1,"step":%d}`, i, i))
	}
	if code, _ := post(t, s, "runs/log-batch", `{"run_id":"`+id+`","metrics":[`+strings.Join(ms, ",")+`]}`); code != 400 {
		t.Errorf("1001 metrics in one batch: %d", code)
	}
	if code, out := post(t, s, "runs/update", `{"run_id":"nope","status":"FINISHED"}`); code != 404 || out["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("unknown run: %d %v", code, out)
	}
	r := s.OnlyRun(t)
	if r.Params["lr"] != "1" || r.Tags["k"] != "v" || len(r.Metrics) != 1 || r.Metrics[0].Value == r.Metrics[0].Value || r.Steps("m")[0] != 2 {
		t.Errorf("run %+v", r)
	}
	s.SetInject(func(*http.Request) int { return Drop })
	if _, err := http.Post(s.URL+apiPrefix+"runs/update", "application/json", strings.NewReader("{}")); err == nil {
		t.Error("dropped connection answered")
	}
	if s.Injected() != 1 || s.Count("runs/update") != 1 {
		t.Errorf("injected %d, runs/update answered %d", s.Injected(), s.Count("runs/update"))
	}
}

// An artifact upload must carry a Content-Length: a chunked one is refused
// with 411, as some proxies in front of MLflow do.
func TestServerRefusesChunkedUploads(t *testing.T) {
	s := NewServer(t)
	put := func(body io.Reader, length int64) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, s.URL+artifactPrefix+"0/r/artifacts/a.txt", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A reader of unknown size, sent with ContentLength -1: chunked.
	if code := put(io.MultiReader(strings.NewReader("abc")), -1); code != http.StatusLengthRequired {
		t.Errorf("chunked upload: HTTP %d, want 411", code)
	}
	if len(s.Artifacts()) != 0 {
		t.Errorf("a refused upload was stored: %v", s.Artifacts())
	}
	if code := put(strings.NewReader("abc"), 3); code != http.StatusOK {
		t.Errorf("sized upload: HTTP %d", code)
	}
	if got := string(s.Artifacts()["0/r/artifacts/a.txt"]); got != "abc" {
		t.Errorf("stored %q", got)
	}
}

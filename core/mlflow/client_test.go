package mlflow

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
)

// testClient is a client of uri with quick retries, logging to log when
// not nil, waiting on clk when given (the system clock otherwise).
func testClient(t *testing.T, uri string, log *bytes.Buffer, clk ...clock.Clock) *Client {
	t.Helper()
	cfg := Config{URI: uri, MaxRetries: 3, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	if len(clk) > 0 {
		cfg.Clock = clk[0]
	}
	if log != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExperimentAndRunLifecycle(t *testing.T) {
	f := mlflowtest.NewServer(t)
	c := testClient(t, f.URL, nil)
	ctx := context.Background()
	id, err := c.EnsureExperiment(ctx, "convirt")
	if err != nil {
		t.Fatal(err)
	}
	if id2, err := c.EnsureExperiment(ctx, "convirt"); err != nil || id2 != id {
		t.Fatalf("second EnsureExperiment: %q %v", id2, err)
	}
	if f.Count("experiments/create") != 1 {
		t.Errorf("experiments/create called %d times", f.Count("experiments/create"))
	}
	info, err := c.CreateRun(ctx, id, "r1", time.Now(), []KV{{Key: TagRunName, Value: "r1"}})
	if err != nil || info.RunID == "" || info.ArtifactURI == "" {
		t.Fatalf("CreateRun: %+v %v", info, err)
	}
	if err := c.SetTag(ctx, info.RunID, "k", "v"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(src, []byte("hello"), 0o644)
	if err := c.UploadArtifact(ctx, info.ArtifactURI, "plots/a.txt", src); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateRun(ctx, info.RunID, StatusFinished, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := f.OnlyRun(t)
	if r.Info.Status != StatusFinished || r.Tags["k"] != "v" || r.Tags[TagRunName] != "r1" || r.Info.EndTime == 0 {
		t.Errorf("server run %+v", r)
	}
	if got := string(f.Artifacts()[id+"/"+info.RunID+"/artifacts/plots/a.txt"]); got != "hello" {
		t.Errorf("artifacts %v", f.Artifacts())
	}
	err = c.UpdateRun(ctx, "nope", StatusFinished, time.Time{})
	if !IsCode(err, "RESOURCE_DOES_NOT_EXIST") || Transient(err) {
		t.Errorf("missing run: %v", err)
	}
}

func TestLogBatchSplitsAndTruncates(t *testing.T) {
	f := mlflowtest.NewServer(t)
	var logs bytes.Buffer
	c := testClient(t, f.URL, &logs)
	ctx := context.Background()
	info, _ := c.CreateRun(ctx, "0", "", time.Now(), nil)
	ms := make([]Metric, 2500)
	for i := range ms {
		ms[i] = Metric{Key: "loss", Value: float64(i), Step: int64(i), Timestamp: 1}
	}
	params := make([]KV, 150)
	for i := range params {
		params[i] = KV{Key: fmt.Sprintf("p%d", i), Value: "v"}
	}
	secret := "SECRET-" + strings.Repeat("x", 600)
	params[0] = KV{Key: strings.Repeat("k", 300), Value: secret}
	if err := c.LogBatch(ctx, info.RunID, ms[:0], nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("runs/log-batch"); n != 0 {
		t.Errorf("empty batch made %d calls", n)
	}
	if err := c.LogBatch(ctx, info.RunID, ms, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("runs/log-batch"); n != 3 {
		t.Errorf("2500 metrics took %d calls, want 3", n)
	}
	if err := c.LogBatch(ctx, info.RunID, nil, params, nil); err != nil {
		t.Fatal(err)
	}
	r := f.OnlyRun(t)
	if len(r.Metrics) != 2500 || r.Metrics[2499].Value != 2499 || len(r.Params) != 150 {
		t.Errorf("server got %d metrics %d params", len(r.Metrics), len(r.Params))
	}
	long := r.Params[strings.Repeat("k", MaxKeyLength)]
	if len(long) != MaxParamValueLength {
		t.Errorf("truncated value length %d", len(long))
	}
	if !strings.Contains(logs.String(), "truncated") || strings.Contains(logs.String(), "SECRET") {
		t.Errorf("truncation log: %s", logs.String())
	}
}

func TestSplitLimits(t *testing.T) {
	bs := Split(make([]Metric, 2500), make([]KV, 250), make([]KV, 120))
	var m, p, tg int
	for _, b := range bs {
		if len(b.Metrics) > MaxMetricsPerBatch || len(b.Params) > MaxParamsPerBatch || len(b.Tags) > MaxTagsPerBatch || b.Len() > MaxEntitiesPerBatch {
			t.Errorf("batch over limits: %d/%d/%d", len(b.Metrics), len(b.Params), len(b.Tags))
		}
		m, p, tg = m+len(b.Metrics), p+len(b.Params), tg+len(b.Tags)
	}
	if m != 2500 || p != 250 || tg != 120 || len(bs) != 3 {
		t.Errorf("split into %d batches carrying %d/%d/%d", len(bs), m, p, tg)
	}
}

func TestRetries(t *testing.T) {
	f := mlflowtest.NewServer(t)
	var logs bytes.Buffer
	c := testClient(t, f.URL, &logs)
	var n atomic.Int32
	f.SetInject(func(r *http.Request) int {
		switch n.Add(1) {
		case 1:
			return 503
		case 2:
			return -1 // dropped connection
		case 3:
			return 429
		}
		return 0
	})
	if _, err := c.EnsureExperiment(context.Background(), "x"); err != nil {
		t.Fatalf("after 3 transient failures: %v", err)
	}
	f.SetInject(func(*http.Request) int { return 503 })
	_, err := c.CreateExperiment(context.Background(), "y")
	if !Transient(err) || !strings.Contains(err.Error(), "503") {
		t.Errorf("persistent 503: %v", err)
	}
	f.SetInject(nil)
	_, err = c.CreateExperiment(context.Background(), "x")
	if !IsCode(err, "RESOURCE_ALREADY_EXISTS") || Transient(err) {
		t.Errorf("4xx: %v", err)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Error("retries not logged")
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("3"); d != 3*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); d < 59*time.Minute {
		t.Errorf("date: %v", d)
	}
	if retryAfter("junk") != 0 || retryAfter("") != 0 {
		t.Error("junk header")
	}
}

func TestCredentialsNeverLogged(t *testing.T) {
	f := mlflowtest.NewServer(t)
	const user, pass, token = "alice", "pa55-w0rd-xyz", "tok-123456789"
	var logs bytes.Buffer
	u := strings.Replace(f.URL, "http://", "http://"+user+":"+pass+"@", 1)
	c, err := New(Config{URI: u, MaxRetries: 1, BaseBackoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureExperiment(context.Background(), "e"); err != nil {
		t.Fatal(err)
	}
	gotAuth := f.Auth()[0]
	if !strings.HasPrefix(gotAuth, "Basic ") {
		t.Errorf("no basic auth sent: %q", gotAuth)
	}
	if strings.Contains(c.URI(), pass) {
		t.Errorf("URI keeps the password: %s", c.URI())
	}
	tc, _ := New(Config{URI: f.URL, Token: token, MaxRetries: 1, BaseBackoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f.SetInject(func(r *http.Request) int { return 502 })
	_, err1 := c.CreateExperiment(context.Background(), "z")
	_, err2 := tc.CreateExperiment(context.Background(), "z")
	// A dead server: connection refused errors include the URL.
	f.Close()
	_, err3 := c.CreateExperiment(context.Background(), "z")
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", Config{URI: u, Password: pass, Token: token})
	all := logs.String() + fmt.Sprint(err1, err2, err3)
	if err1 == nil || err2 == nil || err3 == nil {
		t.Fatal("expected errors")
	}
	for _, s := range []string{pass, token} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q leaked into: %s", s, all)
		}
	}
}

func TestBadURI(t *testing.T) {
	for _, u := range []string{"file:///tmp/mlruns", "databricks", "http://a:sekrit@[::1"} {
		_, err := New(Config{URI: u})
		if err == nil || strings.Contains(err.Error(), "sekrit") {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}

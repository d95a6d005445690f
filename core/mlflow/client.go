// Package mlflow records runs on an MLflow tracking server through its REST
// API (/api/2.0/mlflow/...): a Client for the endpoints, with batching within
// the server's limits and retries with backoff, an asynchronous Tracker that
// never blocks or fails training (it buffers to disk while the server is
// unreachable and replays in order), and Push for uploading a finished local
// run. Credentials come from the usual MLFLOW_* variables and never appear
// in logs or errors.
package mlflow

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/convirt/convirt/core/clock"
)

// Config says where the server is and how to talk to it.
type Config struct {
	URI         string // http(s)://host[:port][/prefix]
	Username    string // basic auth (MLFLOW_TRACKING_USERNAME)
	Password    string // basic auth (MLFLOW_TRACKING_PASSWORD)
	Token       string // bearer token (MLFLOW_TRACKING_TOKEN)
	InsecureTLS bool   // skip TLS verification (MLFLOW_TRACKING_INSECURE_TLS)

	MaxRetries  int           // retries of a transient failure; default 5
	BaseBackoff time.Duration // first retry delay; default 500ms
	MaxBackoff  time.Duration // cap on a retry delay; default 30s
	Timeout     time.Duration // per HTTP request; default 60s
	// MaxParamValue is the longest param value sent; default 500, the limit
	// every MLflow server accepts (newer ones take 6000).
	MaxParamValue int
	Logger        *slog.Logger // warnings (truncation, retries); default: discard
	// Clock times the waits between retries, and a Tracker's waits unless
	// its options name another; default the system clock (tests pass a
	// clock.Fake).
	Clock clock.Clock
}

// ConfigFromEnv reads MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME,
// MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_TOKEN and
// MLFLOW_TRACKING_INSECURE_TLS. URI is empty when tracking is not configured.
func ConfigFromEnv() Config {
	insecure, _ := strconv.ParseBool(os.Getenv("MLFLOW_TRACKING_INSECURE_TLS"))
	return Config{
		URI:         os.Getenv("MLFLOW_TRACKING_URI"),
		Username:    os.Getenv("MLFLOW_TRACKING_USERNAME"),
		Password:    os.Getenv("MLFLOW_TRACKING_PASSWORD"),
		Token:       os.Getenv("MLFLOW_TRACKING_TOKEN"),
		InsecureTLS: insecure,
	}
}

// LogValue makes a Config safe to log: secrets are never included.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("uri", redactURL(c.URI)),
		slog.Bool("basic_auth", c.Username != ""), slog.Bool("token", c.Token != ""))
}

// Client calls an MLflow tracking server. It is safe for concurrent use.
type Client struct {
	base    *url.URL // without credentials
	cfg     Config
	http    *http.Client
	log     *slog.Logger
	secrets []string
}

// New returns a client for cfg. User info embedded in the URI
// (http://user:pass@host) is moved to basic auth and removed from the URL.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URI)
	if err != nil {
		return nil, fmt.Errorf("mlflow: tracking uri %q: invalid", redactURL(cfg.URI))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("mlflow: tracking uri %q: only http and https servers are supported", redactURL(cfg.URI))
	}
	if u.User != nil {
		if cfg.Username == "" {
			cfg.Username = u.User.Username()
			cfg.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.BaseBackoff, 500*time.Millisecond)
	def(&cfg.MaxBackoff, 30*time.Second)
	def(&cfg.Timeout, 60*time.Second)
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.MaxParamValue <= 0 {
		cfg.MaxParamValue = MaxParamValueLength
	}
	cfg.Clock = clock.Or(cfg.Clock)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.InsecureTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by MLFLOW_TRACKING_INSECURE_TLS
	}
	c := &Client{base: u, cfg: cfg, http: &http.Client{Transport: tr, Timeout: cfg.Timeout}, log: log}
	for _, s := range []string{cfg.Password, cfg.Token} {
		if len(s) >= 3 {
			c.secrets = append(c.secrets, s)
		}
	}
	return c, nil
}

// withMaxRetries returns a copy of c that retries a transient failure at
// most n times.
func (c *Client) withMaxRetries(n int) *Client {
	cp := *c
	cp.cfg.MaxRetries = min(cp.cfg.MaxRetries, n)
	return &cp
}

// URI is the server address without credentials.
func (c *Client) URI() string { return c.base.String() }

// APIError is an error answer of the server: its HTTP status and MLflow's
// error JSON {error_code, message}.
type APIError struct {
	Status    int
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
	Endpoint  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("mlflow %s: HTTP %d %s: %s", e.Endpoint, e.Status, e.ErrorCode, e.Message)
}

// IsCode reports whether err is an APIError with the given MLflow error
// code, e.g. "RESOURCE_DOES_NOT_EXIST".
func IsCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.ErrorCode == code
}

// TransportError is a failure to exchange a request with the server
// (connection refused or dropped, timeout). Its message has secrets removed.
type TransportError struct {
	Endpoint string
	Msg      string
}

func (e *TransportError) Error() string { return fmt.Sprintf("mlflow %s: %s", e.Endpoint, e.Msg) }

// Transient reports whether err is worth retrying later: a transport
// failure, HTTP 429 or a 5xx answer.
func Transient(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	var te *TransportError
	return errors.As(err, &te)
}

// request is one call: a JSON body (or a raw body for artifacts) and where
// to decode the answer.
type request struct {
	method, endpoint string // endpoint below /api/2.0/, e.g. "mlflow/runs/create"
	query            url.Values
	body             any // JSON-encoded when non-nil
	// raw re-opens a raw body and says its length, which is sent as
	// Content-Length: proxies in front of MLflow may refuse a chunked upload.
	raw func() (io.ReadCloser, int64, error)
	out any
}

// call performs r, retrying transient failures with exponential backoff and
// full jitter, honouring Retry-After.
func (c *Client) call(ctx context.Context, r request) error {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("mlflow %s: encode request: %w", r.endpoint, err)
		}
	}
	for attempt := 0; ; attempt++ {
		wait, err := c.once(ctx, r, payload)
		if err == nil || !Transient(err) || attempt >= c.cfg.MaxRetries {
			return err
		}
		d := c.backoff(attempt)
		if wait > d {
			d = min(wait, c.cfg.MaxBackoff)
		}
		c.log.Warn("mlflow request failed; retrying", "endpoint", r.endpoint, "attempt", attempt+1, "in", d, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("mlflow %s: %w (last error: %v)", r.endpoint, ctx.Err(), err)
		case <-c.cfg.Clock.After(d):
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BaseBackoff << min(attempt, 20)
	if d > c.cfg.MaxBackoff || d <= 0 {
		d = c.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// once performs one HTTP exchange; it returns the server's Retry-After
// delay, if any, with the error.
func (c *Client) once(ctx context.Context, r request, payload []byte) (time.Duration, error) {
	u := *c.base
	u.Path += "/api/2.0/" + r.endpoint
	u.RawQuery = r.query.Encode()
	var body io.Reader
	size := int64(-1)
	if payload != nil {
		body = bytes.NewReader(payload)
	} else if r.raw != nil {
		rc, n, err := r.raw()
		if err != nil {
			return 0, fmt.Errorf("mlflow %s: %w", r.endpoint, err)
		}
		defer rc.Close()
		body, size = rc, n
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return 0, fmt.Errorf("mlflow %s: %s", r.endpoint, c.scrub(err.Error()))
	}
	if size >= 0 {
		// A sized body: Content-Length, never chunked transfer encoding
		// (net/http treats a non-nil body of length 0 as unknown).
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("mlflow %s: %w", r.endpoint, ctx.Err())
		}
		return 0, &TransportError{r.endpoint, c.scrub(err.Error())}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, &TransportError{r.endpoint, "read answer: " + c.scrub(err.Error())}
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode, Endpoint: r.endpoint}
		if json.Unmarshal(data, ae) != nil || ae.ErrorCode == "" {
			ae.ErrorCode = http.StatusText(resp.StatusCode)
			ae.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		ae.Message = c.scrub(ae.Message)
		return retryAfter(resp.Header.Get("Retry-After")), ae
	}
	if r.out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, r.out); err != nil {
			return 0, fmt.Errorf("mlflow %s: decode answer: %w", r.endpoint, err)
		}
	}
	return 0, nil
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// scrub removes any secret from s (belt and braces: secrets are never put
// in URLs, but a proxy or server may echo a header back).
func (c *Client) scrub(s string) string {
	for _, sec := range c.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// redactURL drops user info from a URL for display.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	u.User = nil
	return u.String()
}

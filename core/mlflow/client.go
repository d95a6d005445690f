// Package mlflow records runs on an MLflow tracking server through its REST
// API (/api/2.0/mlflow/...): a Client for the endpoints, with batching within
// the server's limits and retries with backoff, an asynchronous Tracker that
// never blocks or fails training (it buffers to disk while the server is
// unreachable and replays in order), and Push for uploading a finished local
// run. Credentials come from the usual MLFLOW_* variables and never appear
// in logs or errors.
package mlflow

import (
	"crypto/tls"
	"fmt"
	"log/slog"
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

// redactURL drops user info from a URL for display.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	u.User = nil
	return u.String()
}

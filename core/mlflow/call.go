package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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

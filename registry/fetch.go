package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Limits on what is read from an index location.
const (
	MaxIndexBytes  = 16 << 20 // an index file
	MaxBinaryBytes = 4 << 30  // one plugin binary
	IndexTimeout   = 2 * time.Minute
)

// DefaultHTTPClient fetches indexes and binaries when Registry.HTTP is nil:
// bounded connection, TLS and header waits, and 30 minutes for a whole
// download. Proxies come from the environment.
var DefaultHTTPClient = &http.Client{
	Timeout: 30 * time.Minute,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
	},
}

// client is the registry's HTTP client.
func (r *Registry) client() *http.Client {
	if r.HTTP != nil {
		return r.HTTP
	}
	return DefaultHTTPClient
}

// IsURL reports whether s is an http, https or file URL rather than a path.
func IsURL(s string) bool {
	for _, p := range []string{"http://", "https://", "file://"} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// location turns an index or binary location, a URL or a local path, into
// a URL.
func location(s string) (*url.URL, error) {
	if !IsURL(s) {
		abs, err := filepath.Abs(s)
		if err != nil {
			return nil, err
		}
		return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme == "file" && u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("%s: file URLs name a local path (file:///...), not host %q", s, u.Host)
	}
	return u, nil
}

// open opens u for reading: a local file for file URLs, a GET otherwise.
func (r *Registry) open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	switch u.Scheme {
	case "file":
		return os.Open(filepath.FromSlash(u.Path))
	case "http", "https":
	default:
		return nil, fmt.Errorf("%s: unsupported scheme %q (want http, https or file)", u.Redacted(), u.Scheme)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
	}
	return resp.Body, nil
}

// ReadIndex reads and validates the index at loc: a path, or an http,
// https or file URL. Relative binary URLs in it resolve against loc.
func (r *Registry) ReadIndex(ctx context.Context, loc string) (*Index, error) {
	u, err := location(loc)
	if err != nil {
		return nil, fmt.Errorf("registry: index %s: %w", loc, err)
	}
	ctx, cancel := context.WithTimeout(ctx, IndexTimeout)
	defer cancel()
	rc, err := r.open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("registry: index %s: %w", loc, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("registry: index %s: %w", loc, err)
	}
	if len(b) > MaxIndexBytes {
		return nil, fmt.Errorf("registry: index %s: larger than %d bytes", loc, MaxIndexBytes)
	}
	ix, err := ParseIndex(b, loc)
	if err != nil {
		return nil, err
	}
	ix.base = u
	return ix, nil
}

// resolve makes an artifact URL absolute against the index's location.
func (ix *Index) resolve(ref string) (*url.URL, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return nil, err
	}
	if ix.base != nil {
		u = ix.base.ResolveReference(u)
	}
	if !u.IsAbs() {
		return nil, fmt.Errorf("%q is relative, and the index has no location to resolve it against", ref)
	}
	return location(u.String())
}

// download copies u into the file dst, at most MaxBinaryBytes, and returns
// the sha256 of what it wrote.
func (r *Registry) download(ctx context.Context, u *url.URL, dst string) (string, error) {
	rc, err := r.open(ctx, u)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, MaxBinaryBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", u.Redacted(), err)
	}
	if n > MaxBinaryBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", u.Redacted(), int64(MaxBinaryBytes))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

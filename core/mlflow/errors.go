package mlflow

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

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

// scrub removes any secret from s (belt and braces: secrets are never put
// in URLs, but a proxy or server may echo a header back).
func (c *Client) scrub(s string) string {
	for _, sec := range c.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

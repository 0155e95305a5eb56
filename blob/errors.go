package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"
)

var (
	// ErrRange: a requested range lies outside the object.
	ErrRange = errors.New("range outside object")
	// ErrNoRange: the server ignored the Range header (answered 200 with the
	// whole body) for an object too large to read whole, or answered a
	// range that was not the one asked for.
	ErrNoRange = errors.New("server does not honour range requests")
	// ErrChanged: the object's ETag or size changed between requests.
	ErrChanged = errors.New("object changed while being read")
)

// HTTPError is an unexpected HTTP status. It wraps fs.ErrPermission for
// 401, 403 and the S3 error codes of bad credentials, and fs.ErrNotExist for
// other 404s (S3 NoSuchKey, NoSuchBucket), so callers can test with
// errors.Is.
type HTTPError struct {
	StatusCode int
	Status     string // e.g. "503 Service Unavailable"
	Code       string // S3 error code (e.g. "SignatureDoesNotMatch"), if any
	Message    string // S3 error message, if any

	retryAfter time.Duration // from a Retry-After header
}

// Error gives the status and any S3 error code and message; the operation
// and URI are in the error that wraps it.
func (e *HTTPError) Error() string {
	s := "HTTP " + e.Status
	if e.Code != "" || e.Message != "" {
		s += fmt.Sprintf(" (%s: %s)", e.Code, e.Message)
	}
	return s
}

func (e *HTTPError) Unwrap() error {
	switch {
	case credentialCodes[e.Code],
		e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		return fs.ErrPermission
	case e.StatusCode == http.StatusNotFound:
		return fs.ErrNotExist
	}
	return nil
}

// credentialCodes are S3 error codes meaning the credentials were refused,
// whatever the status (Versity S3 Gateway answers an unknown access key
// with 404 XAdminUserNotFound).
var credentialCodes = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "InvalidToken": true, "TokenRefreshRequired": true,
	"XAdminUserNotFound": true,
}

// retryable reports whether the status is worth another try.
func (e *HTTPError) retryable() bool {
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusRequestTimeout,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return e.Code == "SlowDown" || e.Code == "RequestTimeout" || e.Code == "InternalError"
}

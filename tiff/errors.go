package tiff

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned for bad input wraps one of them, so
// callers can test with errors.Is as well as with errors.As on the concrete
// types below.
var (
	// ErrFormat is wrapped by every *FormatError.
	ErrFormat = errors.New("tiff: malformed file")
	// ErrUnsupported is wrapped by every *UnsupportedError.
	ErrUnsupported = errors.New("tiff: unsupported feature")
)

// FormatError reports a file that is not a valid TIFF, or whose structure is
// inconsistent (bad offsets, truncated data, impossible sizes).
type FormatError struct {
	Name string // source name, may be empty
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("tiff: %s: malformed file: %s", e.Name, e.Msg)
	}
	return "tiff: malformed file: " + e.Msg
}

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Unwrap() error { return ErrFormat }

// UnsupportedError reports a valid TIFF that uses a feature this package does
// not decode (a codec such as JPEG or WebP, an unusual bit depth, ...).
type UnsupportedError struct {
	Name    string // source name, may be empty
	Feature string // e.g. "compression JPEG (7)"
}

func (e *UnsupportedError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("tiff: %s: unsupported %s", e.Name, e.Feature)
	}
	return "tiff: unsupported " + e.Feature
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

func formatErr(name, format string, args ...any) error {
	return &FormatError{Name: name, Msg: fmt.Sprintf(format, args...)}
}

func unsupportedErr(name, format string, args ...any) error {
	return &UnsupportedError{Name: name, Feature: fmt.Sprintf(format, args...)}
}

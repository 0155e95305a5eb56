package blob

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Source is random-access, read-only bytes: a local file, an HTTP(S) URL
// read with range requests, or an S3 object. ReadAt follows io.ReaderAt's
// rules and is safe for concurrent use.
type Source interface {
	io.ReaderAt
	// Size is the length of the object in bytes.
	Size() int64
	// Name is the path or URL, for error messages.
	Name() string
	Close() error
}

// Range is a byte range [Off, Off+Len).
type Range struct {
	Off, Len int64
}

// MultiReader is implemented by sources for which one request per range is
// expensive (HTTP, S3). ReadRanges reads all ranges, merging adjacent or
// nearby ones and issuing requests in parallel; out[i] holds ranges[i].
// The out slices may share backing arrays with each other (they are capped,
// so appending to one never overwrites another); callers must not modify
// them if ranges overlap. Every range must lie within [0, Size()).
type MultiReader interface {
	ReadRanges(ctx context.Context, ranges []Range) (out [][]byte, err error)
}

// Defaults used when the corresponding Options field is zero.
const (
	DefaultHeaderBytes    = 64 << 10
	DefaultMergeGap       = 64 << 10
	DefaultMaxRequest     = 8 << 20
	DefaultConcurrency    = 8
	DefaultMaxAttempts    = 4
	DefaultRetryBase      = 100 * time.Millisecond
	DefaultRetryMax       = 5 * time.Second
	DefaultRequestTimeout = 60 * time.Second
	DefaultMaxNoRange     = 8 << 20
)

// Options configures Open, Stat and List. The zero value is usable: every
// zero field takes the default documented on it.
type Options struct {
	// Client is used for all HTTP(S) and S3 requests. Share one client (and
	// so one connection pool) between sources. If nil, Open creates a
	// private client with a clone of http.DefaultTransport per source.
	Client *http.Client
	// Header holds extra request headers for http(s) URLs (for example
	// Authorization for a token-protected server). Not used for s3://.
	Header http.Header

	// HeaderBytes is how many bytes from the start of the object Open
	// fetches and keeps, so that parsing a file header costs one request
	// (default DefaultHeaderBytes; negative: fetch only 1 byte).
	HeaderBytes int64
	// MergeGap: ReadRanges merges ranges separated by at most this many
	// bytes into one request (default DefaultMergeGap; negative: merge only
	// touching or overlapping ranges).
	MergeGap int64
	// MaxRequest caps the bytes asked for in one request: merging stops at
	// this size and larger ranges are split into parallel requests
	// (default DefaultMaxRequest).
	MaxRequest int64
	// Concurrency bounds the requests one ReadRanges call has in flight
	// (default DefaultConcurrency).
	Concurrency int
	// MaxAttempts bounds the tries per request, the first included
	// (default DefaultMaxAttempts; 1 disables retries).
	MaxAttempts int
	// RetryBase and RetryMax shape the exponential backoff: before retry n
	// (n = 1, 2, ...) the wait is uniformly random in
	// [d/2, d] with d = min(RetryMax, RetryBase<<(n-1)) ("equal jitter").
	// A Retry-After header from the server is honoured up to RetryMax.
	RetryBase, RetryMax time.Duration
	// RequestTimeout bounds one attempt, reading its body included
	// (default DefaultRequestTimeout).
	RequestTimeout time.Duration
	// MaxNoRange is the largest object read whole into memory when the
	// server ignores Range and answers 200 with the full body; larger
	// objects fail with ErrNoRange (default DefaultMaxNoRange; negative:
	// always fail).
	MaxNoRange int64

	// S3 configures s3:// URIs.
	S3 S3Options

	// Stats, if not nil, counts requests and bytes (shared by all sources
	// opened with these options).
	Stats *Stats
	// Now returns the current time for request signing (default time.Now).
	Now func() time.Time
	// Getenv reads the environment for S3 defaults (default os.Getenv).
	// Set it to func(string) string { return "" } to ignore the environment.
	Getenv func(string) string
}

func (o Options) withDefaults() Options {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.HeaderBytes, DefaultHeaderBytes)
	if o.HeaderBytes < 1 {
		o.HeaderBytes = 1
	}
	def(&o.MergeGap, DefaultMergeGap)
	if o.MergeGap < 0 {
		o.MergeGap = 0
	}
	def(&o.MaxRequest, DefaultMaxRequest)
	def(&o.MaxNoRange, DefaultMaxNoRange)
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return o
}

// Info describes an object.
type Info struct {
	Name    string    // path or URI
	Size    int64     // bytes
	ETag    string    // entity tag as sent by the server (quotes kept); "" for files
	ModTime time.Time // zero when unknown
}

// Open opens uri for random access. uri is a local path, a file:// URL, an
// http:// or https:// URL, or s3://bucket/key. For remote objects Open
// makes one request: it learns the size and caches the first
// opt.HeaderBytes bytes. A missing object gives an error wrapping
// fs.ErrNotExist; refused access wraps fs.ErrPermission.
//
// A remote source lives under ctx: ReadAt uses it, and cancelling it (or
// Close) stops every read, ReadRanges included (which also stops when its
// own context ends). So pass a context that lasts as long as the source,
// not a short per-call timeout; per-request time is bounded by
// Options.RequestTimeout.
func Open(ctx context.Context, uri string, opt Options) (Source, error) {
	kind, rest, err := splitScheme(uri)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "file":
		return openFile(rest)
	case "http":
		return openHTTP(ctx, uri, opt)
	case "s3":
		return openS3(ctx, uri, opt)
	}
	return nil, fmt.Errorf("blob: %s: unsupported URI", uri)
}

// Stat describes the object at uri; for remote objects it costs one small
// request (a 1-byte ranged GET, which every S3 policy that allows reading
// allows, unlike HEAD on some servers).
func Stat(ctx context.Context, uri string, opt Options) (Info, error) {
	kind, rest, err := splitScheme(uri)
	if err != nil {
		return Info{}, err
	}
	if kind == "file" {
		return statFile(rest)
	}
	opt.HeaderBytes = -1
	src, err := Open(ctx, uri, opt)
	if err != nil {
		return Info{}, err
	}
	defer src.Close()
	return src.(*rangeSource).info(), nil
}

// List returns the objects whose name starts with prefix uri: for s3://
// it is ListObjectsV2 under the key prefix (recursive, all pages); for a
// local directory (path or file://) it is every regular file below it. The
// result is sorted by name. HTTP(S) cannot be listed.
func List(ctx context.Context, uri string, opt Options) ([]Info, error) {
	kind, rest, err := splitScheme(uri)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "file":
		return listFiles(ctx, rest)
	case "s3":
		return listS3(ctx, uri, opt)
	}
	return nil, fmt.Errorf("blob: list %s: http(s) URLs cannot be listed", uri)
}

// ReadRanges reads ranges from src, through its MultiReader when it has one
// and otherwise with one ReadAt per range.
func ReadRanges(ctx context.Context, src Source, ranges []Range) ([][]byte, error) {
	if m, ok := src.(MultiReader); ok {
		return m.ReadRanges(ctx, ranges)
	}
	out := make([][]byte, len(ranges))
	for i, r := range ranges {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkRange(src.Name(), r, src.Size()); err != nil {
			return nil, err
		}
		out[i] = make([]byte, r.Len)
		if _, err := src.ReadAt(out[i], r.Off); err != nil {
			return nil, fmt.Errorf("blob: %s: read %d bytes at %d: %w", src.Name(), r.Len, r.Off, err)
		}
	}
	return out, nil
}

func checkRange(name string, r Range, size int64) error {
	if r.Off < 0 || r.Len < 0 || r.Off > size || r.Len > size-r.Off {
		return fmt.Errorf("blob: %s: range [%d, +%d) outside object of %d bytes: %w", name, r.Off, r.Len, size, ErrRange)
	}
	return nil
}

// splitScheme classifies uri as "file" (returning the local path), "http"
// or "s3".
func splitScheme(uri string) (kind, rest string, err error) {
	i := strings.Index(uri, "://")
	if i < 0 {
		if uri == "" {
			return "", "", fmt.Errorf("blob: empty URI")
		}
		return "file", uri, nil
	}
	switch strings.ToLower(uri[:i]) {
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return "", "", fmt.Errorf("blob: %s: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", "", fmt.Errorf("blob: %s: file URL with a remote host", uri)
		}
		return "file", u.Path, nil
	case "http", "https":
		return "http", uri, nil
	case "s3":
		return "s3", uri, nil
	}
	return "", "", fmt.Errorf("blob: %s: unsupported scheme %q", uri, uri[:i])
}

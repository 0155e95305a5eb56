package blob

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// rangeSource reads an HTTP(S) or S3 object with range requests. The first
// bytes (or the whole object, when the server ignores Range) are cached.
type rangeSource struct {
	requester
	name string // URI for messages, without credentials
	url  string // request URL

	size    int64
	etag    string
	modTime time.Time
	head    []byte // bytes [0, len(head)) of the object

	ctx    context.Context // for ReadAt; cancelled by Close
	cancel context.CancelFunc
	closed atomic.Bool
}

// requester sends requests with the options' client, counting them.
type requester struct {
	opt Options // with defaults
	// prepare adds headers and signs a request; it is called for every
	// attempt, so signatures are fresh.
	prepare func(req *http.Request) error
}

func openHTTP(ctx context.Context, uri string, opt Options) (Source, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("blob: %s: URL without host", u.Redacted())
	}
	extra := opt.Header
	return openRange(ctx, u.Redacted(), uri, opt, func(req *http.Request) error {
		for k, v := range extra {
			req.Header[k] = v
		}
		return nil
	})
}

// openRange makes the first request: a ranged GET of the header bytes that
// also tells the size (Content-Range), ETag and modification time.
func openRange(ctx context.Context, name, reqURL string, opt Options, prepare func(*http.Request) error) (*rangeSource, error) {
	s := &rangeSource{requester: requester{opt.withDefaults(), prepare}, name: name, url: reqURL}
	rng := fmt.Sprintf("bytes=0-%d", s.opt.HeaderBytes-1)
	err := s.openWith(ctx, rng)
	if errors.Is(err, errMaybeEmpty) {
		// 416 to bytes=0-N without the size: the object should be empty;
		// a plain GET tells (and is bounded by MaxNoRange if not).
		err = s.openWith(ctx, "")
	}
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	return s, nil
}

// errMaybeEmpty: 416 to the first range request without a size.
var errMaybeEmpty = errors.New("416 without object size")

func (s *rangeSource) openWith(ctx context.Context, rng string) error {
	what := "GET " + s.name
	if rng != "" {
		what += " (" + rng + ")"
	}
	return retry(ctx, &s.opt, what, func(ctx context.Context) error {
		resp, err := s.get(ctx, s.url, rng)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return s.openResponse(resp)
	})
}

func (s *rangeSource) openResponse(resp *http.Response) error {
	s.etag = resp.Header.Get("ETag")
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		s.modTime = t
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		first, last, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return err
		}
		if total < 0 || first != 0 || last >= s.opt.HeaderBytes || last != min(s.opt.HeaderBytes, total)-1 {
			return fmt.Errorf("answer %q to bytes=0-%d: %w", resp.Header.Get("Content-Range"), s.opt.HeaderBytes-1, ErrNoRange)
		}
		s.size = total
		s.head = make([]byte, last+1)
		_, err = io.ReadFull(resp.Body, s.head)
		return err
	case http.StatusOK:
		// The server ignored Range: keep the whole body if it is small.
		if resp.ContentLength > s.opt.MaxNoRange {
			return fmt.Errorf("answered 200 with all %d bytes: %w", resp.ContentLength, ErrNoRange)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, s.opt.MaxNoRange+1))
		if err != nil {
			return err
		}
		if int64(len(body)) > s.opt.MaxNoRange {
			return fmt.Errorf("answered 200 with over %d bytes: %w", s.opt.MaxNoRange, ErrNoRange)
		}
		if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
			return io.ErrUnexpectedEOF
		}
		s.size, s.head = int64(len(body)), body
		return nil
	case http.StatusRequestedRangeNotSatisfiable:
		// An empty object has no byte 0.
		_, _, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err == nil && total == 0 {
			s.size = 0
			return nil
		}
		if err != nil && resp.Request.Header.Get("Range") != "" {
			return errMaybeEmpty
		}
	}
	return httpError(resp)
}

// get sends one GET, with a Range header unless rng is ""; the caller
// closes the body.
func (s *requester) get(ctx context.Context, u, rng string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	if err := s.prepare(req); err != nil {
		return nil, err
	}
	return s.do(req)
}

func (s *requester) do(req *http.Request) (*http.Response, error) {
	s.opt.Stats.addRequest()
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = countingBody{resp.Body, s.opt.Stats}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	stats *Stats
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.stats.addBytes(int64(n))
	return n, err
}

// fetch fills dst with the bytes at off, with retries.
func (s *rangeSource) fetch(ctx context.Context, off int64, dst []byte) error {
	rng := fmt.Sprintf("bytes=%d-%d", off, off+int64(len(dst))-1)
	return retry(ctx, &s.opt, "GET "+s.name+" ("+rng+")", func(ctx context.Context) error {
		resp, err := s.get(ctx, s.url, rng)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := s.checkSame(resp); err != nil {
			return err
		}
		switch resp.StatusCode {
		case http.StatusPartialContent:
		case http.StatusOK:
			return fmt.Errorf("answered 200 with the whole object: %w", ErrNoRange)
		default:
			return httpError(resp)
		}
		first, last, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return err
		}
		if total >= 0 && total != s.size {
			return fmt.Errorf("size was %d, now %d: %w", s.size, total, ErrChanged)
		}
		if first != off || last != off+int64(len(dst))-1 {
			return fmt.Errorf("answered %q: %w", resp.Header.Get("Content-Range"), ErrNoRange)
		}
		_, err = io.ReadFull(resp.Body, dst)
		return err
	})
}

// checkSame fails if a successful answer carries another ETag than the
// first one.
func (s *rangeSource) checkSame(resp *http.Response) error {
	if resp.StatusCode/100 != 2 {
		return nil
	}
	if e := resp.Header.Get("ETag"); e != "" && s.etag != "" && e != s.etag {
		return fmt.Errorf("ETag was %s, now %s: %w", s.etag, e, ErrChanged)
	}
	return nil
}

// parseContentRange parses "bytes first-last/total" or "bytes */total";
// total is -1 when given as "*", first and last are -1 in the second form.
func parseContentRange(v string) (first, last, total int64, err error) {
	bad := func() (int64, int64, int64, error) {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q: %w", v, ErrNoRange)
	}
	spec, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return bad()
	}
	rng, tot, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return bad()
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return bad()
		}
	}
	if rng == "*" {
		return -1, -1, total, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return bad()
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first || (total >= 0 && last >= total) {
		return bad()
	}
	return first, last, total, nil
}

// httpError builds the error for an unexpected status, reading an S3 XML
// error body when there is one.
func httpError(resp *http.Response) error {
	e := &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, retryAfter: parseRetryAfter(resp.Header)}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var x struct{ Code, Message string }
	if xml.Unmarshal(body, &x) == nil {
		e.Code, e.Message = x.Code, x.Message
	}
	return e
}

func (s *rangeSource) Size() int64  { return s.size }
func (s *rangeSource) Name() string { return s.name }

// Close cancels reads in flight; the source must not be used afterwards.
func (s *rangeSource) Close() error {
	s.closed.Store(true)
	s.cancel()
	return nil
}

func (s *rangeSource) info() Info {
	return Info{Name: s.name, Size: s.size, ETag: s.etag, ModTime: s.modTime}
}

// ReadAt reads len(p) bytes at off under the context given to Open; a read
// larger than Options.MaxRequest is split into parallel requests.
func (s *rangeSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blob: %s: negative offset %d", s.name, off)
	}
	if off >= s.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	if err := s.readInto(s.ctx, []piece{{off, p[:n]}}); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// ReadRanges implements MultiReader.
func (s *rangeSource) ReadRanges(ctx context.Context, ranges []Range) ([][]byte, error) {
	out := make([][]byte, len(ranges))
	var todo []int
	for i, r := range ranges {
		if err := checkRange(s.name, r, s.size); err != nil {
			return nil, err
		}
		if r.Off+r.Len <= int64(len(s.head)) {
			out[i] = slices.Clone(s.head[r.Off : r.Off+r.Len])
			continue
		}
		todo = append(todo, i)
	}
	slices.SortFunc(todo, func(a, b int) int { return compareInt64(ranges[a].Off, ranges[b].Off) })

	// Merge sorted ranges into spans; each span is one buffer.
	var pieces []piece
	for start := 0; start < len(todo); {
		off, end := ranges[todo[start]].Off, ranges[todo[start]].Off+ranges[todo[start]].Len
		stop := start + 1
		for ; stop < len(todo); stop++ {
			r := ranges[todo[stop]]
			newEnd := max(end, r.Off+r.Len)
			if r.Off-end > s.opt.MergeGap || newEnd-off > s.opt.MaxRequest {
				break
			}
			end = newEnd
		}
		buf := make([]byte, end-off)
		for _, i := range todo[start:stop] {
			a := ranges[i].Off - off
			out[i] = buf[a : a+ranges[i].Len : a+ranges[i].Len]
		}
		pieces = append(pieces, piece{off, buf})
		start = stop
	}
	if err := s.readInto(ctx, pieces); err != nil {
		return nil, err
	}
	return out, nil
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// piece is a byte span to fetch into buf.
type piece struct {
	off int64
	buf []byte
}

// readInto fills the pieces, splitting those over MaxRequest and running
// at most Concurrency requests at a time; bytes within the cached head are
// copied from it.
func (s *rangeSource) readInto(ctx context.Context, pieces []piece) error {
	if s.closed.Load() {
		return fmt.Errorf("blob: %s: %w", s.name, fs.ErrClosed)
	}
	if ctx != s.ctx { // Close also cancels ReadRanges in flight
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.ctx, cancel)()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opt.Concurrency)
	for _, p := range pieces {
		if h := int64(len(s.head)); p.off < h {
			n := copy(p.buf, s.head[p.off:])
			p = piece{p.off + int64(n), p.buf[n:]}
		}
		for len(p.buf) > 0 {
			n := min(int64(len(p.buf)), s.opt.MaxRequest)
			off, buf := p.off, p.buf[:n]
			g.Go(func() error { return s.fetch(gctx, off, buf) })
			p = piece{p.off + n, p.buf[n:]}
		}
	}
	err := g.Wait()
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

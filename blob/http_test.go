package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer serves one object with http.ServeContent (which implements
// Range) and lets tests inject failures per request.
type testServer struct {
	*httptest.Server
	data []byte

	mu     sync.Mutex
	etag   string
	inject func(n int64, w http.ResponseWriter, r *http.Request) bool // true: handled

	requests, inflight, maxInflight atomic.Int64
}

func newTestServer(t testing.TB, data []byte) *testServer {
	ts := &testServer{data: data, etag: `"v1"`}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.requests.Add(1)
		cur := ts.inflight.Add(1)
		defer ts.inflight.Add(-1)
		for {
			m := ts.maxInflight.Load()
			if cur <= m || ts.maxInflight.CompareAndSwap(m, cur) {
				break
			}
		}
		ts.mu.Lock()
		inject, etag := ts.inject, ts.etag
		ts.mu.Unlock()
		if inject != nil && inject(n, w, r) {
			return
		}
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		http.ServeContent(w, r, "obj.tif", time.Unix(1700000000, 0), bytes.NewReader(ts.data))
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) setInject(f func(n int64, w http.ResponseWriter, r *http.Request) bool) {
	ts.mu.Lock()
	ts.inject = f
	ts.mu.Unlock()
}

func (ts *testServer) url() string { return ts.URL + "/obj.tif" }

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fastRetry are options with short backoff so retry tests run quickly.
func fastRetry(stats *Stats) Options {
	return Options{Stats: stats, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond, MaxAttempts: 3}
}

func mustOpen(t testing.TB, ctx context.Context, uri string, opt Options) Source {
	t.Helper()
	src, err := Open(ctx, uri, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestHTTPHeaderPrefetchIsOneRequest(t *testing.T) {
	data := randomBytes(1<<20, 1)
	ts := newTestServer(t, data)
	var st Stats
	src := mustOpen(t, t.Context(), ts.url(), Options{Stats: &st})
	if src.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", src.Size(), len(data))
	}
	// IFD-like reads scattered through the first 64 KiB.
	for _, r := range []Range{{0, 8}, {8, 200}, {4000, 1200}, {65536 - 100, 100}} {
		p := make([]byte, r.Len)
		if _, err := src.ReadAt(p, r.Off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, data[r.Off:r.Off+r.Len]) {
			t.Fatalf("ReadAt %v: wrong bytes", r)
		}
	}
	if n := ts.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
	if st.Requests() != 1 || st.BytesFetched() != DefaultHeaderBytes {
		t.Errorf("stats: %d requests, %d bytes; want 1, %d", st.Requests(), st.BytesFetched(), DefaultHeaderBytes)
	}
	// A read past the header costs one more request; one past the end
	// returns io.EOF with the bytes that exist.
	p := make([]byte, 5000)
	n, err := src.ReadAt(p, int64(len(data))-1000)
	if err != io.EOF || n != 1000 || !bytes.Equal(p[:n], data[len(data)-1000:]) {
		t.Fatalf("ReadAt at end: n=%d err=%v", n, err)
	}
	if n := ts.requests.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
	info, err := Stat(t.Context(), ts.url(), Options{})
	if err != nil || info.Size != int64(len(data)) || info.ETag != `"v1"` || !info.ModTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("Stat = %+v, %v", info, err)
	}
}

func checkRanges(t *testing.T, data []byte, ranges []Range, out [][]byte) {
	t.Helper()
	if len(out) != len(ranges) {
		t.Fatalf("%d results for %d ranges", len(out), len(ranges))
	}
	for i, r := range ranges {
		if !bytes.Equal(out[i], data[r.Off:r.Off+r.Len]) {
			t.Fatalf("range %d %v: wrong bytes", i, r)
		}
	}
}

func TestHTTPReadRangesMerges(t *testing.T) {
	data := randomBytes(4<<20, 2)
	ts := newTestServer(t, data)
	var ranges []Range
	// 16 adjacent 16 KiB tiles (given out of order), a tile 10 KiB after
	// them (within the 64 KiB gap), one far away, one overlapping, one in
	// the cached header, one empty.
	for i := 15; i >= 0; i-- {
		ranges = append(ranges, Range{1<<20 + int64(i)*16384, 16384})
	}
	ranges = append(ranges, Range{1<<20 + 16*16384 + 10000, 5000}, Range{3 << 20, 70000},
		Range{1<<20 + 100, 50000}, Range{10, 1000}, Range{2 << 20, 0})

	var st Stats
	src := mustOpen(t, t.Context(), ts.url(), Options{Stats: &st})
	out, err := ReadRanges(t.Context(), src, ranges)
	if err != nil {
		t.Fatal(err)
	}
	checkRanges(t, data, ranges, out)
	if n := ts.requests.Load(); n != 3 { // open + merged run + far tile
		t.Errorf("server saw %d requests, want 3", n)
	}

	// Without a gap allowance the tile after the run is its own request;
	// MaxRequest splits the 256 KiB run into 4.
	ts.requests.Store(0)
	src2 := mustOpen(t, t.Context(), ts.url(), Options{MergeGap: -1, MaxRequest: 64 << 10})
	out, err = ReadRanges(t.Context(), src2, ranges)
	if err != nil {
		t.Fatal(err)
	}
	checkRanges(t, data, ranges, out)
	// open + 4 (run) + 1 (tile after) + 2 (70000 bytes far tile split at 64 KiB)
	if n := ts.requests.Load(); n != 8 {
		t.Errorf("server saw %d requests, want 8", n)
	}

	// A range outside the object is refused before any request.
	ts.requests.Store(0)
	if _, err := ReadRanges(t.Context(), src, []Range{{int64(len(data)) - 10, 11}}); !errors.Is(err, ErrRange) {
		t.Errorf("range past end: err = %v, want ErrRange", err)
	}
	if ts.requests.Load() != 0 {
		t.Error("a request was sent for an invalid range")
	}
}

func TestHTTPReadRangesParallel(t *testing.T) {
	data := randomBytes(2<<20, 3)
	ts := newTestServer(t, data)
	ts.setInject(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n > 1 {
			time.Sleep(40 * time.Millisecond)
		}
		return false
	})
	var ranges []Range
	for i := range 16 {
		ranges = append(ranges, Range{int64(i) * 128 << 10, 1000}) // far apart: 16 requests
	}
	src := mustOpen(t, t.Context(), ts.url(), Options{Concurrency: 4, HeaderBytes: -1})
	out, err := ReadRanges(t.Context(), src, ranges)
	if err != nil {
		t.Fatal(err)
	}
	checkRanges(t, data, ranges, out)
	if n := ts.requests.Load(); n != 17 {
		t.Errorf("server saw %d requests, want 17", n)
	}
	if m := ts.maxInflight.Load(); m < 2 || m > 4 {
		t.Errorf("max requests in flight %d, want 2..4 (Concurrency 4)", m)
	}
}

func TestHTTPRetryThenSuccess(t *testing.T) {
	data := randomBytes(1<<20, 4)
	hijackClose := func(w http.ResponseWriter) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}
	cases := map[string]func(w http.ResponseWriter, r *http.Request){
		"503": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		},
		"429 with Retry-After": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		},
		"connection dropped": func(w http.ResponseWriter, r *http.Request) { hijackClose(w) },
		"body cut short": func(w http.ResponseWriter, r *http.Request) {
			c, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			fmt.Fprintf(buf, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 500000-599999/%d\r\nContent-Length: 100000\r\nETag: \"v1\"\r\n\r\n", len(data))
			buf.Write(data[500000:510000])
			buf.Flush()
			c.Close()
		},
		"timeout": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		},
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, data)
			var st Stats
			opt := fastRetry(&st)
			opt.RequestTimeout = 300 * time.Millisecond
			src := mustOpen(t, t.Context(), ts.url(), opt)
			// Requests 2 and 3 fail, the 4th (third attempt) succeeds.
			ts.setInject(func(n int64, w http.ResponseWriter, r *http.Request) bool {
				if n == 2 || n == 3 {
					fail(w, r)
					return true
				}
				return false
			})
			p := make([]byte, 100000)
			if _, err := src.ReadAt(p, 500000); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, data[500000:600000]) {
				t.Fatal("wrong bytes after retries")
			}
			if n := ts.requests.Load(); n != 4 {
				t.Errorf("server saw %d requests, want 4", n)
			}
			// net/http itself retries a GET once when a reused connection
			// closes before any answer, so then only one retry is ours.
			wantRetries := int64(2)
			if name == "connection dropped" {
				wantRetries = 1
			}
			if st.Retries() < wantRetries || st.Retries() != st.Requests()-2 {
				t.Errorf("stats: %d requests, %d retries; want %d retries", st.Requests(), st.Retries(), wantRetries)
			}
		})
	}
}

func TestHTTPRetryGivesUp(t *testing.T) {
	ts := newTestServer(t, randomBytes(1<<20, 5))
	var st Stats
	src := mustOpen(t, t.Context(), ts.url(), fastRetry(&st))
	ts.setInject(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	})
	_, err := src.ReadAt(make([]byte, 10), 300000)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want an HTTPError 503", err)
	}
	for _, want := range []string{"giving up after 3 attempts", ts.url(), "bytes=300000-300009", "503"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if st.Requests() != 4 { // open + 3 attempts
		t.Errorf("%d requests, want 4", st.Requests())
	}

	// 404 is not retried and wraps fs.ErrNotExist; 403 wraps fs.ErrPermission.
	for code, target := range map[int]error{404: fs.ErrNotExist, 403: fs.ErrPermission} {
		ts.requests.Store(0)
		ts.setInject(func(n int64, w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "no", code)
			return true
		})
		_, err := Open(t.Context(), ts.url(), fastRetry(nil))
		if !errors.Is(err, target) || !strings.Contains(err.Error(), ts.url()) {
			t.Errorf("status %d: err = %v, want %v naming the URL", code, err, target)
		}
		if n := ts.requests.Load(); n != 1 {
			t.Errorf("status %d: %d requests, want 1 (no retry)", code, n)
		}
	}
}

func TestHTTPContextCancel(t *testing.T) {
	ts := newTestServer(t, randomBytes(1<<20, 6))
	src := mustOpen(t, t.Context(), ts.url(), Options{})
	ts.setInject(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
		return true
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ReadRanges(ctx, src, []Range{{200000, 10}, {900000, 10}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancellation took %v", d)
	}

	// Close cancels reads in flight and fails later ones.
	done := make(chan error, 1)
	go func() {
		_, err := src.ReadAt(make([]byte, 10), 500000)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	src.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("ReadAt in flight succeeded after Close")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not cancel a read in flight")
	}
	if _, err := src.ReadAt(make([]byte, 10), 500000); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("ReadAt after Close: %v, want fs.ErrClosed", err)
	}
}

func TestHTTPServerIgnoresRange(t *testing.T) {
	data := randomBytes(100000, 7)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(data) // 200, whole body, Range ignored
	}))
	defer srv.Close()

	src := mustOpen(t, t.Context(), srv.URL+"/x", Options{})
	out, err := ReadRanges(t.Context(), src, []Range{{0, 10}, {70000, 30000}})
	if err != nil {
		t.Fatal(err)
	}
	checkRanges(t, data, []Range{{0, 10}, {70000, 30000}}, out)
	if requests.Load() != 1 {
		t.Errorf("%d requests, want 1 (small object kept whole)", requests.Load())
	}
	if _, err := Open(t.Context(), srv.URL+"/x", Options{MaxNoRange: 50000}); !errors.Is(err, ErrNoRange) {
		t.Errorf("large object without range support: err = %v, want ErrNoRange", err)
	}
}

func TestHTTPETagChange(t *testing.T) {
	ts := newTestServer(t, randomBytes(1<<20, 8))
	src := mustOpen(t, t.Context(), ts.url(), fastRetry(nil))
	ts.mu.Lock()
	ts.etag = `"v2"`
	ts.mu.Unlock()
	_, err := src.ReadAt(make([]byte, 10), 500000)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if ts.requests.Load() != 2 {
		t.Errorf("%d requests, want 2 (no retry when the object changed)", ts.requests.Load())
	}
}

func TestHTTPSmallAndEmptyObjects(t *testing.T) {
	for _, size := range []int{0, 1, 1000, DefaultHeaderBytes, DefaultHeaderBytes + 1} {
		data := randomBytes(size, uint64(size))
		ts := newTestServer(t, data)
		src := mustOpen(t, t.Context(), ts.url(), Options{})
		if src.Size() != int64(size) {
			t.Fatalf("size %d: Size() = %d", size, src.Size())
		}
		p := make([]byte, size)
		if n, err := src.ReadAt(p, 0); n != size || (err != nil && err != io.EOF) || !bytes.Equal(p, data) {
			t.Fatalf("size %d: ReadAt = %d, %v", size, n, err)
		}
		if _, err := src.ReadAt(make([]byte, 1), int64(size)); err != io.EOF {
			t.Fatalf("size %d: ReadAt at end: %v, want io.EOF", size, err)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	good := map[string][3]int64{
		"bytes 0-9/100": {0, 9, 100},
		"bytes 5-5/6":   {5, 5, 6},
		"bytes */0":     {-1, -1, 0},
		"bytes 10-19/*": {10, 19, -1},
		"bytes  0-0/1 ": {0, 0, 1},
	}
	for v, want := range good {
		a, b, c, err := parseContentRange(v)
		if err != nil || [3]int64{a, b, c} != want {
			t.Errorf("%q: %d %d %d %v, want %v", v, a, b, c, err, want)
		}
	}
	for _, v := range []string{"", "bytes", "0-9/100", "bytes 9-0/100", "bytes 0-100/100", "bytes -1-5/10", "bytes 0-9/x", "items 0-9/100", "bytes 0-9"} {
		if _, _, _, err := parseContentRange(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

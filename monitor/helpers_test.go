package monitor

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
)

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// landcover is a four-stage pipeline with a fan-in: read and dem feed
// classify, classify feeds write.
func landcover() *graph.Pipeline {
	return &graph.Pipeline{Name: "landcover", Stages: []*graph.Stage{
		{ID: "read", Op: "cog-read", Out: []string{"classify"}, Replicas: 1},
		{ID: "dem", Op: "cog-read", Out: []string{"classify"}, Replicas: 1},
		{ID: "classify", Op: "forest", In: []string{"read", "dem"}, Out: []string{"write"}, Replicas: 2, Device: "cpu"},
		{ID: "write", Op: "cog-write", In: []string{"classify"}, Replicas: 1},
	}}
}

// perSecond is what a linear stage does each second of its clock.
type perSecond struct {
	id, op                 string
	replicas               int64
	chunksIn, chunksOut    int64
	pixelsIn, pixelsOut    int64
	bytesIn, bytesOut      int64
	busy, blocked          time.Duration // summed over replicas
	inflight               int64
	errorsPerS, redelivers int64
}

// linearSource reports counters that grow linearly with the snapshot time,
// so rates between any two snapshots are exactly the per-second figures.
type linearSource struct {
	pipeline, worker string
	t0               time.Time
	stages           []perSecond
}

func (l linearSource) Snapshot(now time.Time) []metrics.Snapshot {
	sec := now.Sub(l.t0).Seconds()
	n := func(v int64) int64 { return int64(float64(v) * sec) }
	var out []metrics.Snapshot
	for _, s := range l.stages {
		out = append(out, metrics.Snapshot{
			Pipeline: l.pipeline, ID: s.id, Op: s.op, Worker: l.worker, Replicas: s.replicas,
			ChunksIn: n(s.chunksIn), ChunksOut: n(s.chunksOut), PixelsIn: n(s.pixelsIn), PixelsOut: n(s.pixelsOut),
			BytesIn: n(s.bytesIn), BytesOut: n(s.bytesOut),
			Busy: time.Duration(n(int64(s.busy))), Blocked: time.Duration(n(int64(s.blocked))),
			Errors: n(s.errorsPerS), Redeliveries: n(s.redelivers), InFlight: s.inflight,
			P50: 2 * time.Millisecond, P95: 5 * time.Millisecond, P99: 9 * time.Millisecond,
			At: now,
		})
	}
	return out
}

// backPressured is the scenario of the tests: read and dem are mostly
// blocked on classify's credits, classify (2 replicas) is saturated, write
// keeps up.
func backPressured(worker string, t0 time.Time) linearSource {
	const chunk = 1 << 16
	return linearSource{pipeline: "landcover", worker: worker, t0: t0, stages: []perSecond{
		{id: "read", op: "cog-read", replicas: 1, chunksOut: 40, pixelsOut: 40 * chunk, bytesOut: 40 * chunk * 12,
			busy: 150 * time.Millisecond, blocked: 800 * time.Millisecond},
		{id: "dem", op: "cog-read", replicas: 1, chunksOut: 40, pixelsOut: 40 * chunk, bytesOut: 40 * chunk * 4,
			busy: 100 * time.Millisecond, blocked: 700 * time.Millisecond},
		{id: "classify", op: "forest", replicas: 2, chunksIn: 80, chunksOut: 40, pixelsIn: 80 * chunk, pixelsOut: 40 * chunk,
			bytesIn: 80 * chunk * 8, bytesOut: 40 * chunk, busy: 1900 * time.Millisecond, inflight: 6},
		{id: "write", op: "cog-write", replicas: 1, chunksIn: 40, pixelsIn: 40 * chunk, bytesIn: 40 * chunk,
			busy: 300 * time.Millisecond, inflight: 1},
	}}
}

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, res.Status, body)
	}
	return string(body), res.Header
}

package metrics

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Stage holds one stage's counters in one process.
type Stage struct {
	Pipeline, ID, Op, Worker string

	ChunksIn, ChunksOut atomic.Int64
	PixelsIn, PixelsOut atomic.Int64
	BytesIn, BytesOut   atomic.Int64
	BusyNs, BlockedNs   atomic.Int64
	Errors              atomic.Int64
	Redeliveries        atomic.Int64
	InFlight            atomic.Int64
	Scenes              atomic.Int64
	// Expected counts the chunks a source has announced: the sum of
	// Meta.Total over the scenes it started (0 for other stages).
	Expected atomic.Int64
	// Replicas is the number of parallel workers of the stage in this
	// process; monitors divide busy and blocked time by it. 0 reads as 1.
	Replicas atomic.Int64

	lat latency
}

// ObserveLatency records one chunk's processing time.
func (s *Stage) ObserveLatency(d time.Duration) { s.lat.observe(d) }

// latency is a log-bucketed histogram: bucket i holds durations up to
// 2^(i/4) microseconds.
type latency struct {
	mu      sync.Mutex
	buckets [128]int64
	n       int64
	sum     time.Duration
}

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	b := int(math.Ceil(4 * math.Log2(us)))
	return min(b, 127)
}

func bucketUpper(i int) time.Duration {
	return time.Duration(math.Pow(2, float64(i)/4) * float64(time.Microsecond))
}

func (l *latency) observe(d time.Duration) {
	l.mu.Lock()
	l.buckets[bucketOf(d)]++
	l.n++
	l.sum += d
	l.mu.Unlock()
}

// quantiles returns the quantiles qs, the number of observations and their
// sum.
func (l *latency) quantiles(qs ...float64) (out []time.Duration, n int64, sum time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out = make([]time.Duration, len(qs))
	if l.n == 0 {
		return out, 0, 0
	}
	for i, q := range qs {
		target := int64(math.Ceil(q * float64(l.n)))
		var acc int64
		for b, c := range l.buckets {
			acc += c
			if acc >= target {
				out[i] = bucketUpper(b)
				break
			}
		}
	}
	return out, l.n, l.sum
}

// Snapshot is a copy of a stage's counters.
type Snapshot struct {
	Pipeline, ID, Op, Worker string
	ChunksIn, ChunksOut      int64
	PixelsIn, PixelsOut      int64
	BytesIn, BytesOut        int64
	Busy, Blocked            time.Duration
	Errors, Redeliveries     int64
	InFlight, Scenes         int64
	Expected                 int64
	Replicas                 int64
	// P50, P95 and P99 are latency quantiles since the start (bucket upper
	// bounds, so within 19% above the true value); LatencyCount and
	// LatencySum count and add up every observed latency.
	P50, P95, P99 time.Duration
	LatencyCount  int64
	LatencySum    time.Duration
	At            time.Time
}

// Snapshot copies the counters.
func (s *Stage) Snapshot(now time.Time) Snapshot {
	q, n, sum := s.lat.quantiles(0.5, 0.95, 0.99)
	return Snapshot{
		Pipeline: s.Pipeline, ID: s.ID, Op: s.Op, Worker: s.Worker,
		ChunksIn: s.ChunksIn.Load(), ChunksOut: s.ChunksOut.Load(),
		PixelsIn: s.PixelsIn.Load(), PixelsOut: s.PixelsOut.Load(),
		BytesIn: s.BytesIn.Load(), BytesOut: s.BytesOut.Load(),
		Busy: time.Duration(s.BusyNs.Load()), Blocked: time.Duration(s.BlockedNs.Load()),
		Errors: s.Errors.Load(), Redeliveries: s.Redeliveries.Load(),
		InFlight: s.InFlight.Load(), Scenes: s.Scenes.Load(), Expected: s.Expected.Load(), Replicas: s.Replicas.Load(),
		P50: q[0], P95: q[1], P99: q[2], LatencyCount: n, LatencySum: sum, At: now,
	}
}

// Registry holds the stages of one process.
type Registry struct {
	mu     sync.Mutex
	stages []*Stage
}

// Stage registers (or finds) a stage's counters.
func (r *Registry) Stage(pipeline, id, opName, worker string) *Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.stages {
		if s.Pipeline == pipeline && s.ID == id && s.Worker == worker {
			return s
		}
	}
	s := &Stage{Pipeline: pipeline, ID: id, Op: opName, Worker: worker}
	r.stages = append(r.stages, s)
	return s
}

// Snapshot copies every stage's counters, in registration order.
func (r *Registry) Snapshot(now time.Time) []Snapshot {
	r.mu.Lock()
	stages := append([]*Stage(nil), r.stages...)
	r.mu.Unlock()
	out := make([]Snapshot, len(stages))
	for i, s := range stages {
		out[i] = s.Snapshot(now)
	}
	return out
}

// SortByID orders snapshots by stage id for stable output.
func SortByID(s []Snapshot) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].ID < s[j].ID })
}

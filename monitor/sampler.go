package monitor

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/rasterflow/rasterflow/metrics"
)

// Source yields the current counters of every stage it knows.
// *metrics.Registry and *Collector are Sources.
type Source interface {
	Snapshot(now time.Time) []metrics.Snapshot
}

// Merge combines sources into one. When two sources report the same
// (pipeline, stage, worker), the first source wins, so a process that both
// runs stages and collects the cluster's published snapshots (its own
// included) counts its stages once.
func Merge(sources ...Source) Source { return merged(sources) }

type merged []Source

// Graphs returns the graphs of the merged sources that know any, the
// first source's graph of a pipeline winning.
func (m merged) Graphs() []Graph {
	var out []Graph
	seen := map[string]bool{}
	for _, src := range m {
		if gs, ok := src.(GraphSource); ok {
			for _, g := range gs.Graphs() {
				if !seen[g.Pipeline] {
					seen[g.Pipeline] = true
					out = append(out, g)
				}
			}
		}
	}
	return out
}

func (m merged) Snapshot(now time.Time) []metrics.Snapshot {
	var out []metrics.Snapshot
	seen := map[key]bool{}
	for _, src := range m {
		for _, s := range src.Snapshot(now) {
			k := keyOf(s)
			if !seen[k] {
				seen[k] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Gauge is one extra sample for /metrics and the dashboard, such as a GPU
// memory pool's bytes in use: Name must be a Prometheus metric name and
// the label names Prometheus label names (others are skipped).
type Gauge struct {
	Name   string            `json:"name"`
	Help   string            `json:"help,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}

// Options configure a Sampler (and the Server that owns one).
type Options struct {
	// Interval between samples; 0 means one second.
	Interval time.Duration
	// History is how much of the past the charts keep; 0 means 5 minutes.
	History time.Duration
	// StaleAfter is how old a worker's last snapshot may be before its
	// rates read as zero; 0 means 5 intervals.
	StaleAfter time.Duration
	// Gauges, when set, is called on every sample and every scrape: the
	// extension point for per-device pool statistics.
	Gauges func() []Gauge
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.History <= 0 {
		o.History = 5 * time.Minute
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 5 * o.Interval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) gauges() []Gauge {
	if o.Gauges == nil {
		return nil
	}
	return o.Gauges()
}

// Stage states, from the fractions of time busy and blocked.
const (
	StateIdle          = "idle"           // busy+blocked below IdleBelow
	StateOK            = "ok"             // neither of the others
	StateBusy          = "busy"           // busy at least BusyAbove: a bottleneck
	StateBackPressured = "back-pressured" // blocked at least BlockedAbove
)

// Thresholds of the states.
const (
	BlockedAbove = 0.4
	BusyAbove    = 0.75
	IdleBelow    = 0.05
)

// Rate is what a stage did over the last interval, with its totals. Rates
// are per second; Busy, Blocked and Idle are fractions of the replicas'
// time (busy+blocked deltas divided by interval × replicas), so they sum
// to 1. Latency quantiles are in seconds over the whole run.
type Rate struct {
	Pipeline string `json:"pipeline"`
	Stage    string `json:"stage"`
	Op       string `json:"op"`
	// Worker is the process, or "" for a stage's total over its workers.
	Worker   string    `json:"worker,omitempty"`
	Workers  int       `json:"workers"`
	Replicas int64     `json:"replicas"`
	At       time.Time `json:"at"`
	// Seconds is the length of the interval; 0 before the second sample.
	Seconds float64 `json:"seconds"`
	Stale   bool    `json:"stale,omitempty"`
	State   string  `json:"state"`

	ChunksInPerSec  float64 `json:"chunks_in_per_s"`
	ChunksOutPerSec float64 `json:"chunks_out_per_s"`
	PixelsInPerSec  float64 `json:"pixels_in_per_s"`
	PixelsOutPerSec float64 `json:"pixels_out_per_s"`
	BytesInPerSec   float64 `json:"bytes_in_per_s"`
	BytesOutPerSec  float64 `json:"bytes_out_per_s"`
	ErrorsPerSec    float64 `json:"errors_per_s"`

	Busy    float64 `json:"busy"`
	Blocked float64 `json:"blocked"`
	Idle    float64 `json:"idle"`

	InFlight     int64 `json:"inflight"`
	ChunksIn     int64 `json:"chunks_in"`
	ChunksOut    int64 `json:"chunks_out"`
	PixelsIn     int64 `json:"pixels_in"`
	PixelsOut    int64 `json:"pixels_out"`
	BytesIn      int64 `json:"bytes_in"`
	BytesOut     int64 `json:"bytes_out"`
	Errors       int64 `json:"errors"`
	Redeliveries int64 `json:"redeliveries"`
	Scenes       int64 `json:"scenes"`

	P50 float64 `json:"p50_s"`
	P95 float64 `json:"p95_s"`
	P99 float64 `json:"p99_s"`
}

// ChunksPerSec, PixelsPerSec and BytesPerSec are a stage's throughput: the
// larger of in and out, so sources (no input) and sinks (no output) read
// naturally.
func (r Rate) ChunksPerSec() float64 { return max(r.ChunksInPerSec, r.ChunksOutPerSec) }

// PixelsPerSec is the larger of pixels in and out per second.
func (r Rate) PixelsPerSec() float64 { return max(r.PixelsInPerSec, r.PixelsOutPerSec) }

// BytesPerSec is the larger of bytes in and out per second.
func (r Rate) BytesPerSec() float64 { return max(r.BytesInPerSec, r.BytesOutPerSec) }

func stateOf(busy, blocked float64) string {
	switch {
	case blocked >= BlockedAbove:
		return StateBackPressured
	case busy >= BusyAbove:
		return StateBusy
	case busy+blocked < IdleBelow:
		return StateIdle
	}
	return StateOK
}

// View is the latest sample: one Rate per stage and worker, one per stage
// over all its workers, and the gauges.
type View struct {
	At      time.Time `json:"at"`
	Seconds float64   `json:"interval_s"`
	Stages  []Rate    `json:"stages"`
	Workers []Rate    `json:"workers"`
	Gauges  []Gauge   `json:"gauges"`
}

// Point is one sample of a stage's history.
type Point struct {
	T        int64   `json:"t"` // Unix milliseconds
	Chunks   float64 `json:"chunks"`
	Pixels   float64 `json:"pixels"`
	Bytes    float64 `json:"bytes"`
	Busy     float64 `json:"busy"`
	Blocked  float64 `json:"blocked"`
	InFlight int64   `json:"inflight"`
	Errors   int64   `json:"errors"`
}

// Series is the history of one stage over all its workers, oldest first.
type Series struct {
	Pipeline string  `json:"pipeline"`
	Stage    string  `json:"stage"`
	Points   []Point `json:"points"`
}

type key struct{ pipeline, stage, worker string }

func keyOf(s metrics.Snapshot) key { return key{s.Pipeline, s.ID, s.Worker} }

// Sampler turns snapshots taken every interval into rates and keeps their
// history. It is safe for concurrent use.
type Sampler struct {
	src Source
	opt Options

	mu      sync.Mutex
	prev    map[key]metrics.Snapshot
	rates   map[key]Rate
	view    View
	order   []key // stages (worker "") in first-seen order
	history map[key]*ring
}

// NewSampler returns a sampler of src; call Sample or Run.
func NewSampler(src Source, opt Options) *Sampler {
	return &Sampler{
		src: src, opt: opt.withDefaults(),
		prev: map[key]metrics.Snapshot{}, rates: map[key]Rate{}, history: map[key]*ring{},
	}
}

// Interval is the sampling interval.
func (s *Sampler) Interval() time.Duration { return s.opt.Interval }

// Run samples every interval until ctx is done.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.opt.Interval)
	defer t.Stop()
	s.Sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sample()
		}
	}
}

// Sample takes one snapshot, updates the rates and history, and returns the
// new view.
func (s *Sampler) Sample() View {
	now := s.opt.Now()
	snaps := s.src.Snapshot(now)
	gauges := s.opt.gauges()

	s.mu.Lock()
	defer s.mu.Unlock()
	workers := make([]Rate, 0, len(snaps))
	for _, cur := range snaps {
		k := keyOf(cur)
		// A snapshot not newer than the last one (a remote worker that has
		// not published since) keeps its rates until it goes stale.
		r := s.rates[k]
		switch prev, seen := s.prev[k]; {
		case !seen:
			r = rateOf(cur, cur, 0)
		case cur.At.After(prev.At):
			r = rateOf(prev, cur, cur.At.Sub(prev.At))
		}
		if now.Sub(cur.At) > s.opt.StaleAfter {
			r = rateOf(cur, cur, 0)
			r.Stale = true
		}
		s.prev[k], s.rates[k] = cur, r
		workers = append(workers, r)
	}
	stages := aggregate(workers)
	for _, r := range stages {
		k := key{r.Pipeline, r.Stage, ""}
		h := s.history[k]
		if h == nil {
			h = newRing(int(s.opt.History/s.opt.Interval) + 1)
			s.history[k] = h
			s.order = append(s.order, k)
		}
		h.add(Point{
			T: now.UnixMilli(), Chunks: r.ChunksPerSec(), Pixels: r.PixelsPerSec(), Bytes: r.BytesPerSec(),
			Busy: r.Busy, Blocked: r.Blocked, InFlight: r.InFlight, Errors: r.Errors,
		})
	}
	if gauges == nil {
		gauges = []Gauge{}
	}
	s.view = View{At: now, Seconds: s.opt.Interval.Seconds(), Stages: stages, Workers: workers, Gauges: gauges}
	return s.view
}

// Latest returns the view of the last sample (empty before the first).
func (s *Sampler) Latest() View {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view
	if v.Stages == nil {
		v.Stages, v.Workers, v.Gauges = []Rate{}, []Rate{}, []Gauge{}
	}
	return v
}

// History returns every stage's recent points, stages in first-seen order.
func (s *Sampler) History() []Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Series, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, Series{Pipeline: k.pipeline, Stage: k.stage, Points: s.history[k].points()})
	}
	return out
}

// aggregate sums each stage's workers. Fractions are weighted by replicas,
// quantiles are the largest of the workers'.
func aggregate(workers []Rate) []Rate {
	idx := map[key]int{}
	out := []Rate{}
	var weight []float64
	for _, w := range workers {
		k := key{w.Pipeline, w.Stage, ""}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Rate{Pipeline: w.Pipeline, Stage: w.Stage, Op: w.Op, At: w.At, Stale: true})
			weight = append(weight, 0)
		}
		a := &out[i]
		wt := float64(max(w.Replicas, 1))
		if !w.Stale {
			weight[i] += wt
			a.Busy += w.Busy * wt
			a.Blocked += w.Blocked * wt
		}
		a.Workers++
		a.Replicas += w.Replicas
		a.Seconds = max(a.Seconds, w.Seconds)
		a.Stale = a.Stale && w.Stale
		if w.At.After(a.At) {
			a.At = w.At
		}
		a.ChunksInPerSec += w.ChunksInPerSec
		a.ChunksOutPerSec += w.ChunksOutPerSec
		a.PixelsInPerSec += w.PixelsInPerSec
		a.PixelsOutPerSec += w.PixelsOutPerSec
		a.BytesInPerSec += w.BytesInPerSec
		a.BytesOutPerSec += w.BytesOutPerSec
		a.ErrorsPerSec += w.ErrorsPerSec
		a.InFlight += w.InFlight
		a.ChunksIn += w.ChunksIn
		a.ChunksOut += w.ChunksOut
		a.PixelsIn += w.PixelsIn
		a.PixelsOut += w.PixelsOut
		a.BytesIn += w.BytesIn
		a.BytesOut += w.BytesOut
		a.Errors += w.Errors
		a.Redeliveries += w.Redeliveries
		a.Scenes += w.Scenes
		a.P50, a.P95, a.P99 = max(a.P50, w.P50), max(a.P95, w.P95), max(a.P99, w.P99)
	}
	for i := range out {
		a := &out[i]
		if weight[i] > 0 {
			a.Busy /= weight[i]
			a.Blocked /= weight[i]
		}
		a.Idle = max(0, 1-a.Busy-a.Blocked)
		a.State = stateOf(a.Busy, a.Blocked)
	}
	return out
}

// rateOf derives rates from two snapshots dt apart (dt 0: totals only).
// A counter that went down (a restarted worker) counts from zero.
func rateOf(prev, cur metrics.Snapshot, dt time.Duration) Rate {
	r := Rate{
		Pipeline: cur.Pipeline, Stage: cur.ID, Op: cur.Op, Worker: cur.Worker, Workers: 1,
		Replicas: max(cur.Replicas, 1), At: cur.At, Seconds: dt.Seconds(),
		InFlight: cur.InFlight, ChunksIn: cur.ChunksIn, ChunksOut: cur.ChunksOut,
		PixelsIn: cur.PixelsIn, PixelsOut: cur.PixelsOut, BytesIn: cur.BytesIn, BytesOut: cur.BytesOut,
		Errors: cur.Errors, Redeliveries: cur.Redeliveries, Scenes: cur.Scenes,
		P50: cur.P50.Seconds(), P95: cur.P95.Seconds(), P99: cur.P99.Seconds(),
	}
	if dt > 0 {
		sec := dt.Seconds()
		per := func(c, p int64) float64 { return float64(delta(c, p)) / sec }
		r.ChunksInPerSec = per(cur.ChunksIn, prev.ChunksIn)
		r.ChunksOutPerSec = per(cur.ChunksOut, prev.ChunksOut)
		r.PixelsInPerSec = per(cur.PixelsIn, prev.PixelsIn)
		r.PixelsOutPerSec = per(cur.PixelsOut, prev.PixelsOut)
		r.BytesInPerSec = per(cur.BytesIn, prev.BytesIn)
		r.BytesOutPerSec = per(cur.BytesOut, prev.BytesOut)
		r.ErrorsPerSec = per(cur.Errors, prev.Errors)
		capacity := sec * float64(r.Replicas)
		r.Busy = clamp01(float64(delta(int64(cur.Busy), int64(prev.Busy))) / 1e9 / capacity)
		r.Blocked = clamp01(float64(delta(int64(cur.Blocked), int64(prev.Blocked))) / 1e9 / capacity)
		if r.Busy+r.Blocked > 1 {
			r.Blocked = 1 - r.Busy
		}
	}
	r.Idle = max(0, 1-r.Busy-r.Blocked)
	r.State = stateOf(r.Busy, r.Blocked)
	return r
}

func delta(cur, prev int64) int64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func clamp01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}

// ring keeps the last n points.
type ring struct {
	buf  []Point
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]Point, max(n, 1))} }

func (r *ring) add(p Point) {
	r.buf[r.next] = p
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

func (r *ring) points() []Point {
	if !r.full {
		return append([]Point(nil), r.buf[:r.next]...)
	}
	return append(append([]Point(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/metrics"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func stageRate(t *testing.T, rates []Rate, id string) Rate {
	t.Helper()
	for _, r := range rates {
		if r.Stage == id {
			return r
		}
	}
	t.Fatalf("no rate for stage %q in %+v", id, rates)
	return Rate{}
}

func TestSamplerRatesFromRegistry(t *testing.T) {
	clk := newFakeClock()
	reg := &metrics.Registry{}
	m := reg.Stage("p", "ndvi", "indices", "w1")
	m.Replicas.Store(2)
	m.ChunksIn.Add(10)
	m.Errors.Add(1)
	s := NewSampler(reg, Options{Interval: time.Second, Now: clk.Now})

	v := s.Sample()
	first := stageRate(t, v.Workers, "ndvi")
	if first.Seconds != 0 || first.ChunksInPerSec != 0 || first.ChunksIn != 10 {
		t.Fatalf("first sample: want totals and no rates, got %+v", first)
	}

	m.ChunksIn.Add(50)
	m.ChunksOut.Add(40)
	m.PixelsIn.Add(50 * 4096)
	m.PixelsOut.Add(40 * 4096)
	m.BytesIn.Add(50 * 4096 * 10)
	m.BytesOut.Add(40 * 4096 * 4)
	m.BusyNs.Add(int64(1500 * time.Millisecond))
	m.BlockedNs.Add(int64(500 * time.Millisecond))
	m.Errors.Add(2)
	m.InFlight.Store(3)
	clk.Advance(2 * time.Second)
	v = s.Sample()
	r := stageRate(t, v.Workers, "ndvi")

	near(t, "seconds", r.Seconds, 2)
	near(t, "chunks in/s", r.ChunksInPerSec, 50.0/2)
	near(t, "chunks out/s", r.ChunksOutPerSec, 40.0/2)
	near(t, "pixels in/s", r.PixelsInPerSec, 50*4096/2)
	near(t, "pixels out/s", r.PixelsOutPerSec, 40*4096/2)
	near(t, "bytes in/s", r.BytesInPerSec, 50*4096*10/2)
	near(t, "bytes out/s", r.BytesOutPerSec, 40*4096*4/2)
	near(t, "errors/s", r.ErrorsPerSec, 2.0/2)
	// 1.5 s busy and 0.5 s blocked out of 2 s × 2 replicas.
	near(t, "busy", r.Busy, 1.5/4)
	near(t, "blocked", r.Blocked, 0.5/4)
	near(t, "idle", r.Idle, 1-2.0/4)
	if r.InFlight != 3 || r.Errors != 3 || r.ChunksIn != 60 || r.Replicas != 2 || r.Worker != "w1" {
		t.Errorf("totals: got %+v", r)
	}
	if r.State != StateOK {
		t.Errorf("state %q, want %q", r.State, StateOK)
	}
	agg := stageRate(t, v.Stages, "ndvi")
	if agg.Worker != "" || agg.Workers != 1 || agg.ChunksInPerSec != r.ChunksInPerSec || agg.Busy != r.Busy {
		t.Errorf("one-worker aggregate differs from the worker: %+v vs %+v", agg, r)
	}
}

func TestSamplerBackPressure(t *testing.T) {
	clk := newFakeClock()
	src := backPressured("w1", clk.Now())
	s := NewSampler(src, Options{Now: clk.Now})
	s.Sample()
	clk.Advance(time.Second)
	v := s.Sample()
	for _, ps := range src.stages {
		r := stageRate(t, v.Stages, ps.id)
		cap := float64(ps.replicas) // one second × replicas
		near(t, ps.id+" busy", r.Busy, ps.busy.Seconds()/cap)
		near(t, ps.id+" blocked", r.Blocked, ps.blocked.Seconds()/cap)
		near(t, ps.id+" pixels/s", r.PixelsPerSec(), float64(max(ps.pixelsIn, ps.pixelsOut)))
	}
	want := map[string]string{"read": StateBackPressured, "dem": StateBackPressured, "classify": StateBusy, "write": StateOK}
	for id, st := range want {
		if got := stageRate(t, v.Stages, id).State; got != st {
			t.Errorf("stage %s: state %q, want %q", id, got, st)
		}
	}
}

func TestSamplerAggregatesWorkers(t *testing.T) {
	clk := newFakeClock()
	w1 := backPressured("w1", clk.Now())
	w2 := backPressured("w2", clk.Now())
	w2.stages = append([]perSecond(nil), w2.stages...)
	w2.stages[2].replicas = 1
	w2.stages[2].busy = 200 * time.Millisecond
	s := NewSampler(Merge(w1, w2), Options{Now: clk.Now})
	s.Sample()
	clk.Advance(time.Second)
	v := s.Sample()
	if len(v.Workers) != 8 || len(v.Stages) != 4 {
		t.Fatalf("got %d worker rates and %d stage rates, want 8 and 4", len(v.Workers), len(v.Stages))
	}
	c := stageRate(t, v.Stages, "classify")
	near(t, "classify chunks in/s", c.ChunksInPerSec, float64(w1.stages[2].chunksIn+w2.stages[2].chunksIn))
	// Weighted by replicas: (0.95 × 2 + 0.2 × 1) / 3.
	near(t, "classify busy", c.Busy, (1.9+0.2)/3)
	if c.Workers != 2 || c.Replicas != 3 || c.InFlight != 12 {
		t.Errorf("classify aggregate: workers %d replicas %d inflight %d, want 2 3 12", c.Workers, c.Replicas, c.InFlight)
	}
}

func TestSamplerCounterReset(t *testing.T) {
	clk := newFakeClock()
	reg := &metrics.Registry{}
	m := reg.Stage("p", "a", "op", "")
	m.ChunksOut.Add(100)
	s := NewSampler(reg, Options{Now: clk.Now})
	s.Sample()
	// A restarted worker: a fresh counter below the last value.
	reg2 := &metrics.Registry{}
	reg2.Stage("p", "a", "op", "").ChunksOut.Add(30)
	s.src = reg2
	clk.Advance(time.Second)
	r := stageRate(t, s.Sample().Workers, "a")
	near(t, "chunks out/s after reset", r.ChunksOutPerSec, 30)
}

func TestSamplerHistoryKeepsWindow(t *testing.T) {
	clk := newFakeClock()
	reg := &metrics.Registry{}
	m := reg.Stage("p", "a", "op", "")
	s := NewSampler(reg, Options{Interval: time.Second, History: 5 * time.Second, Now: clk.Now})
	for i := range 10 {
		m.ChunksOut.Add(int64(i))
		s.Sample()
		clk.Advance(time.Second)
	}
	h := s.History()
	if len(h) != 1 || h[0].Stage != "a" {
		t.Fatalf("history: %+v", h)
	}
	pts := h[0].Points
	if len(pts) != 6 {
		t.Fatalf("%d points, want the last 6 (5 s window at 1 s)", len(pts))
	}
	for i, p := range pts {
		sample := 4 + i // samples 4..9 survive; sample k added k chunks over 1 s
		if p.T != newFakeClock().Now().Add(time.Duration(sample)*time.Second).UnixMilli() {
			t.Errorf("point %d at %d, want sample %d", i, p.T, sample)
		}
		near(t, "chunks/s", p.Chunks, float64(sample))
	}
}

// frozenSource always reports the same snapshot time, like a collector
// whose worker stopped publishing.
type frozenSource struct{ snap metrics.Snapshot }

func (f frozenSource) Snapshot(time.Time) []metrics.Snapshot { return []metrics.Snapshot{f.snap} }

func TestSamplerStaleWorker(t *testing.T) {
	clk := newFakeClock()
	src := &linearSource{pipeline: "p", worker: "w", t0: clk.Now(), stages: []perSecond{{id: "a", op: "op", replicas: 1, chunksOut: 10, busy: time.Second / 2}}}
	s := NewSampler(src, Options{Interval: time.Second, Now: clk.Now})
	s.Sample()
	clk.Advance(time.Second)
	live := stageRate(t, s.Sample().Stages, "a")
	near(t, "live chunks/s", live.ChunksOutPerSec, 10)

	frozen := frozenSource{src.Snapshot(clk.Now())[0]}
	s.src = frozen
	clk.Advance(time.Second)
	kept := stageRate(t, s.Sample().Stages, "a")
	near(t, "rate kept while not yet stale", kept.ChunksOutPerSec, 10)
	clk.Advance(10 * time.Second)
	stale := stageRate(t, s.Sample().Stages, "a")
	if !stale.Stale || stale.ChunksOutPerSec != 0 || stale.Busy != 0 || stale.ChunksOut != frozen.snap.ChunksOut {
		t.Errorf("stale worker: %+v", stale)
	}
}

func TestMergeFirstSourceWins(t *testing.T) {
	reg := &metrics.Registry{}
	reg.Stage("landcover", "read", "cog-read", "w1").ChunksOut.Add(7)
	remote := backPressured("w1", time.Now().Add(-time.Second))
	snaps := Merge(reg, remote).Snapshot(time.Now())
	if len(snaps) != 4 {
		t.Fatalf("%d snapshots, want 4 (read once)", len(snaps))
	}
	if snaps[0].ID != "read" || snaps[0].ChunksOut != 7 {
		t.Errorf("read should come from the first source: %+v", snaps[0])
	}
}

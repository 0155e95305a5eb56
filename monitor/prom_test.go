package monitor

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rasterflow/rasterflow/metrics"
)

// parseProm parses the text format strictly (legacy metric names).
func parseProm(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("invalid exposition: %v\n%s", err, text)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// value finds the sample of family name for stage id and worker.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name, id, worker string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		if l["stage"] == id && l["worker"] == worker {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue()
			}
			t.Fatalf("%s: unexpected type %v", name, f.GetType())
		}
	}
	t.Fatalf("%s: no sample for stage %q worker %q", name, id, worker)
	return 0
}

// countersOf reads a snapshot's value for each counter and gauge family,
// independently of prom.go's table.
func countersOf(s metrics.Snapshot) map[string]float64 {
	return map[string]float64{
		"rasterflow_stage_chunks_in_total":       float64(s.ChunksIn),
		"rasterflow_stage_chunks_out_total":      float64(s.ChunksOut),
		"rasterflow_stage_pixels_in_total":       float64(s.PixelsIn),
		"rasterflow_stage_pixels_out_total":      float64(s.PixelsOut),
		"rasterflow_stage_bytes_in_total":        float64(s.BytesIn),
		"rasterflow_stage_bytes_out_total":       float64(s.BytesOut),
		"rasterflow_stage_busy_seconds_total":    s.Busy.Seconds(),
		"rasterflow_stage_blocked_seconds_total": s.Blocked.Seconds(),
		"rasterflow_stage_errors_total":          float64(s.Errors),
		"rasterflow_stage_redeliveries_total":    float64(s.Redeliveries),
		"rasterflow_stage_scenes_total":          float64(s.Scenes),
		"rasterflow_stage_inflight":              float64(s.InFlight),
	}
}

// move drives a registry's counters from a goroutine until stop is closed.
func move(reg *metrics.Registry, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		stages := []*metrics.Stage{
			reg.Stage("landcover", "read", "cog-read", "w1"),
			reg.Stage("landcover", "classify", "forest", "w1"),
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for j, s := range stages {
				s.ChunksIn.Add(int64(j))
				s.ChunksOut.Add(1)
				s.PixelsIn.Add(int64(j) * 4096)
				s.PixelsOut.Add(4096)
				s.BytesIn.Add(int64(j) * 4096 * 8)
				s.BytesOut.Add(4096 * 4)
				s.BusyNs.Add(int64(time.Duration(900+j) * time.Microsecond))
				s.BlockedNs.Add(int64(100 * time.Microsecond))
				s.InFlight.Store(int64(i % 7))
				s.ObserveLatency(time.Duration(1+i%50) * time.Millisecond)
				if i%100 == 0 {
					s.Errors.Add(1)
					s.Redeliveries.Add(1)
					s.Scenes.Add(1)
				}
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	return &wg
}

func TestMetricsScrapeWhileCountersMove(t *testing.T) {
	reg := &metrics.Registry{}
	reg.Stage("landcover", "read", "cog-read", "w1").Replicas.Store(1)
	reg.Stage("landcover", "classify", "forest", "w1").Replicas.Store(2)
	s := NewSampler(reg, Options{})
	srv := httptest.NewServer(NewHandler(s, landcover()))
	defer srv.Close()

	stop := make(chan struct{})
	wg := move(reg, stop)
	var prev map[string]*dto.MetricFamily
	for range 5 {
		body, hdr := get(t, srv.URL+"/metrics")
		if ct := hdr.Get("Content-Type"); ct != PrometheusContentType {
			t.Errorf("content type %q", ct)
		}
		fams := parseProm(t, body)
		if prev != nil {
			// Counters never go down between scrapes.
			for name := range countersOf(metrics.Snapshot{}) {
				if fams[name].GetType() != dto.MetricType_COUNTER {
					continue
				}
				for _, id := range []string{"read", "classify"} {
					if a, b := value(t, prev, name, id, "w1"), value(t, fams, name, id, "w1"); b < a {
						t.Errorf("%s{stage=%s} went down: %v then %v", name, id, a, b)
					}
				}
			}
		}
		prev = fams
	}
	close(stop)
	wg.Wait()

	// At rest the scrape must equal the counters exactly.
	body, _ := get(t, srv.URL+"/metrics")
	fams := parseProm(t, body)
	for _, snap := range reg.Snapshot(time.Now()) {
		if snap.ChunksOut == 0 {
			t.Fatalf("counters did not move: %+v", snap)
		}
		for name, want := range countersOf(snap) {
			if got := value(t, fams, name, snap.ID, "w1"); got != want {
				t.Errorf("%s{stage=%s} = %v, want %v", name, snap.ID, got, want)
			}
		}
		if got := value(t, fams, "rasterflow_stage_replicas", snap.ID, "w1"); got != float64(snap.Replicas) {
			t.Errorf("replicas{stage=%s} = %v, want %d", snap.ID, got, snap.Replicas)
		}
		checkSummary(t, fams, snap)
	}
	for name, f := range fams {
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		for _, m := range f.GetMetric() {
			l := labelsOf(m)
			for _, k := range []string{"pipeline", "stage", "op", "worker"} {
				if _, ok := l[k]; !ok {
					t.Errorf("%s sample without label %s: %v", name, k, l)
				}
			}
			if l["pipeline"] != "landcover" {
				t.Errorf("%s: pipeline label %q", name, l["pipeline"])
			}
		}
	}
}

func checkSummary(t *testing.T, fams map[string]*dto.MetricFamily, snap metrics.Snapshot) {
	t.Helper()
	f := fams["rasterflow_stage_latency_seconds"]
	if f == nil || f.GetType() != dto.MetricType_SUMMARY {
		t.Fatalf("latency family missing or not a summary: %v", f)
	}
	for _, m := range f.GetMetric() {
		if labelsOf(m)["stage"] != snap.ID {
			continue
		}
		sum := m.GetSummary()
		if sum.GetSampleCount() != uint64(snap.LatencyCount) || sum.GetSampleSum() != snap.LatencySum.Seconds() {
			t.Errorf("latency %s: count %d sum %v, want %d %v", snap.ID, sum.GetSampleCount(), sum.GetSampleSum(), snap.LatencyCount, snap.LatencySum.Seconds())
		}
		want := map[float64]time.Duration{0.5: snap.P50, 0.95: snap.P95, 0.99: snap.P99}
		if len(sum.GetQuantile()) != len(want) {
			t.Errorf("latency %s: %d quantiles", snap.ID, len(sum.GetQuantile()))
		}
		for _, q := range sum.GetQuantile() {
			if w, ok := want[q.GetQuantile()]; !ok || q.GetValue() != w.Seconds() {
				t.Errorf("latency %s quantile %v = %v, want %v", snap.ID, q.GetQuantile(), q.GetValue(), w.Seconds())
			}
		}
		return
	}
	t.Errorf("no latency sample for %s", snap.ID)
}

func TestPrometheusEscapesLabelsAndSkipsBadGauges(t *testing.T) {
	odd := "a \"quoted\" \\ name\nwith newline"
	snaps := []metrics.Snapshot{{Pipeline: odd, ID: "s", Op: "op", Worker: "w", ChunksIn: 5}}
	gauges := []Gauge{
		{Name: "rasterflow_gpu_pool_bytes_in_use", Help: "Bytes in use in a GPU memory pool.", Labels: map[string]string{"device": "0", "worker": "w"}, Value: 1.5e9},
		{Name: "rasterflow_gpu_pool_bytes_in_use", Labels: map[string]string{"device": "1", "worker": "w"}, Value: 2},
		{Name: "bad name", Value: 1},
		{Name: "rasterflow_ok", Labels: map[string]string{"bad-label": "x"}, Value: 1},
		{Name: "rasterflow_stage_inflight", Value: 99}, // would clash with a stage family
	}
	var b strings.Builder
	if err := WritePrometheus(&b, snaps, gauges); err != nil {
		t.Fatal(err)
	}
	fams := parseProm(t, b.String())
	if got := labelsOf(fams["rasterflow_stage_chunks_in_total"].GetMetric()[0])["pipeline"]; got != odd {
		t.Errorf("pipeline label round trip: %q, want %q", got, odd)
	}
	pool := fams["rasterflow_gpu_pool_bytes_in_use"]
	if pool == nil || pool.GetType() != dto.MetricType_GAUGE || len(pool.GetMetric()) != 2 {
		t.Fatalf("gpu pool gauge: %v", pool)
	}
	if v := pool.GetMetric()[0].GetGauge().GetValue(); v != 1.5e9 {
		t.Errorf("gpu pool device 0 = %v", v)
	}
	if _, ok := fams["rasterflow_ok"]; ok {
		t.Error("gauge with an invalid label name was written")
	}
	if n := len(fams["rasterflow_stage_inflight"].GetMetric()); n != 1 {
		t.Errorf("rasterflow_stage_inflight has %d samples, want only the stage's", n)
	}
}

func TestMetricsOfCollectorCarryWorkers(t *testing.T) {
	// A merged source with two workers: each sample keeps its worker label.
	now := time.Now()
	src := Merge(backPressured("w1", now.Add(-time.Second)), backPressured("w2", now.Add(-2*time.Second)))
	var b strings.Builder
	if err := WritePrometheus(&b, src.Snapshot(now), nil); err != nil {
		t.Fatal(err)
	}
	fams := parseProm(t, b.String())
	for _, w := range []string{"w1", "w2"} {
		secs := map[string]float64{"w1": 1, "w2": 2}[w]
		got := value(t, fams, "rasterflow_stage_chunks_in_total", "classify", w)
		if want := float64(int64(80 * secs)); got != want {
			t.Errorf("classify chunks in, worker %s: %v, want %v", w, got, want)
		}
	}
}

func ExampleWritePrometheus() {
	var b strings.Builder
	WritePrometheus(&b, []metrics.Snapshot{{Pipeline: "p", ID: "ndvi", Op: "indices", Worker: "w1", ChunksIn: 3}}, nil)
	lines := strings.Split(b.String(), "\n")
	fmt.Println(strings.Join(lines[:3], "\n"))
	// Output:
	// # HELP rasterflow_stage_chunks_in_total Chunks a stage received.
	// # TYPE rasterflow_stage_chunks_in_total counter
	// rasterflow_stage_chunks_in_total{pipeline="p",stage="ndvi",op="indices",worker="w1"} 3
}

package monitor

import (
	"fmt"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/metrics"
)

// benchRegistry has n stages with moving counters and latencies.
func benchRegistry(n int) *metrics.Registry {
	reg := &metrics.Registry{}
	for i := range n {
		s := reg.Stage("landcover", fmt.Sprintf("stage%02d", i), "op", "w1")
		s.ChunksIn.Add(int64(1000 * i))
		for j := range 100 {
			s.ObserveLatency(time.Duration(j) * time.Millisecond)
		}
	}
	return reg
}

// BenchmarkWritePrometheus measures one /metrics scrape body of 32 stages.
func BenchmarkWritePrometheus(b *testing.B) {
	snaps := benchRegistry(32).Snapshot(time.Now())
	w := &countingWriter{}
	for b.Loop() {
		if err := WritePrometheus(w, snaps, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(w.n / int64(b.N))
	b.ReportMetric(float64(len(snaps))*float64(b.N)/b.Elapsed().Seconds(), "stages/s")
}

// BenchmarkSample measures one sampling round of 4 stages × 4 workers.
func BenchmarkSample(b *testing.B) {
	var srcs []Source
	for w := range 4 {
		srcs = append(srcs, backPressured(fmt.Sprintf("w%d", w), time.Now()))
	}
	clk := newFakeClock()
	s := NewSampler(Merge(srcs...), Options{Now: clk.Now})
	for b.Loop() {
		clk.Advance(time.Second)
		s.Sample()
	}
	b.ReportMetric(float64(4*4)*float64(b.N)/b.Elapsed().Seconds(), "stage-samples/s")
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

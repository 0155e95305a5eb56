package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
	"github.com/rasterflow/rasterflow/monitor"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/transport"
)

// slowSink is a sink that takes 40 ms per chunk.
type slowSink struct{}

func (slowSink) Process(ctx context.Context, c *chunk.Chunk, _ op.Emit) error {
	select {
	case <-time.After(40 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestSlowSinkBackPressure runs a real pipeline into a deliberately slow
// sink: the sampler, the Prometheus text and `top` must show the upstream
// stages as back-pressured and the sink as busy.
func TestSlowSinkBackPressure(t *testing.T) {
	reg := operators.Registry()
	reg.Register(&op.Spec{Name: "slow", Kind: op.Sink, Doc: "sleeps 40 ms per chunk",
		New: func(*op.Config, op.Env) (any, error) { return slowSink{}, nil }})
	p, err := graph.Load("slow.yaml", []byte(`
pipeline: slow
stages:
  - {id: scene, op: synth, with: {size: 2048, chunk: 128, scenes: 4}}
  - {id: indices, op: indices, in: scene}
  - {id: sink, op: slow, in: indices}
`), graph.Options{Registry: reg, MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	m := &metrics.Registry{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- engine.RunLocal(ctx, p, engine.Options{Metrics: m}) }()
	s := monitor.NewSampler(m, monitor.Options{Interval: 500 * time.Millisecond})
	s.Sample()
	var view monitor.View
	// Sample until the pipeline is in its steady state (or 20 s pass).
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		view = s.Sample()
		st := states(view)
		if st["indices"] == monitor.StateBackPressured && st["sink"] == monitor.StateBusy {
			break
		}
	}
	cancel()
	<-done
	st := states(view)
	if st["indices"] != monitor.StateBackPressured || st["sink"] != monitor.StateBusy {
		t.Fatalf("states %v (want indices back-pressured, sink busy); rates %+v", st, view.Stages)
	}
	var b strings.Builder
	monitor.WriteTable(&b, view)
	t.Logf("top:\n%s", b.String())
	if !strings.Contains(b.String(), "back-pressured") {
		t.Fatalf("top does not show back-pressure:\n%s", b.String())
	}
}

func states(v monitor.View) map[string]string {
	out := map[string]string{}
	for _, r := range v.Stages {
		if r.Worker == "" {
			out[r.Stage] = r.State
		}
	}
	return out
}

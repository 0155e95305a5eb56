package monitor_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
	"github.com/rasterflow/rasterflow/monitor"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/transport"
)

// scrape reads one sample of /metrics.
func scrape(t *testing.T, url, family, stage string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	prefix := family + "{"
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) && strings.Contains(line, `stage="`+stage+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v, true
		}
	}
	return 0, false
}

// TestMetricsDuringRun scrapes /metrics while a real pipeline runs and
// checks that counters move and, at the end, agree with the data: the
// indices stage emits every pixel of the scene.
func TestMetricsDuringRun(t *testing.T) {
	const size = 1536
	p, err := graph.Load("e2e.yaml", []byte(fmt.Sprintf(`
pipeline: e2e
stages:
  - {id: scene, op: synth, with: {size: %d, chunk: 256}}
  - {id: indices, op: indices, in: scene, with: {indices: [ndvi]}}
  - {id: stats, op: stats, in: indices, with: {out: %q}}
`, size, filepath.Join(t.TempDir(), "s.json"))), graph.Options{Registry: operators.Registry(), MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	reg := &metrics.Registry{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ms, err := monitor.Serve(ctx, "127.0.0.1:0", reg, p, monitor.Options{Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	url := ms.URL() + "metrics"
	done := make(chan error, 1)
	go func() { done <- engine.RunLocal(ctx, p, engine.Options{Metrics: reg}) }()
	var seen []float64
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		case <-time.After(50 * time.Millisecond):
			if v, ok := scrape(t, url, "rasterflow_stage_pixels_out_total", "indices"); ok {
				seen = append(seen, v)
			}
		}
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("counter went down: %v", seen)
		}
	}
	final, ok := scrape(t, url, "rasterflow_stage_pixels_out_total", "indices")
	if !ok || final != size*size {
		t.Fatalf("indices pixels out = %v, want %d", final, size*size)
	}
	chunks, _ := scrape(t, url, "rasterflow_stage_chunks_in_total", "stats")
	if want := float64(((size + 255) / 256) * ((size + 255) / 256)); chunks != want {
		t.Fatalf("stats chunks in = %v, want %v", chunks, want)
	}
	moving := 0
	for i := 1; i < len(seen); i++ {
		if seen[i] > seen[i-1] && seen[i] < size*size {
			moving++
		}
	}
	t.Logf("%d scrapes during the run, %d saw the counter move mid-run", len(seen), moving)
	if len(seen) > 3 && moving == 0 {
		t.Fatalf("counter never moved mid-run: %v", seen)
	}
}

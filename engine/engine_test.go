package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/synth"
	"github.com/rasterflow/rasterflow/transport"
)

func runPipeline(t *testing.T, yaml string, vars map[string]string) {
	t.Helper()
	p, err := graph.Load("test.yaml", []byte(yaml), graph.Options{Registry: operators.Registry(), Vars: vars, MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := engine.RunLocal(ctx, p, engine.Options{Log: t.Logf}); err != nil {
		t.Fatal(err)
	}
}

// TestStatsMatchDirect runs synth → indices → stats through NATS and
// compares the stats with the same computation done directly on the
// generated arrays.
func TestStatsMatchDirect(t *testing.T) {
	const size, chunkSize = 700, 256
	out := filepath.Join(t.TempDir(), "stats.json")
	runPipeline(t, `
pipeline: t
stages:
  - {id: scene, op: synth, with: {size: "${size}", chunk: "${chunk}", seed: 7}}
  - {id: idx, op: indices, in: scene, replicas: 3, with: {indices: [ndvi], offset: -1000}}
  - {id: stats, op: stats, in: idx, with: {out: `+out+`, range: {ndvi: "-1,1"}, bins: 20}}
`, map[string]string{"size": fmt.Sprint(size), "chunk": fmt.Sprint(chunkSize)})
	var res []operators.SceneStats
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Scene != "synth-7" || res[0].Width != size {
		t.Fatalf("unexpected scenes: %+v", res)
	}
	got := res[0].Columns

	// Direct computation on the whole scene at once.
	px := synth.Scene{Size: size, Seed: 7}.Render(0, 0, size, size)
	b04, b08 := px.Bands[2], px.Bands[3]
	var n, nodata int64
	var sum float64
	minV, maxV := math.Inf(1), math.Inf(-1)
	hist := make([]int64, 20)
	var bandSum float64
	var bandN int64
	for i := range b04 {
		if b04[i] == 0 || b08[i] == 0 {
			nodata++
			continue
		}
		bandSum += float64(b04[i])
		bandN++
		red := (float32(b04[i]) - 1000) * 0.0001
		nir := (float32(b08[i]) - 1000) * 0.0001
		v := float64((nir - red) / (nir + red))
		if math.IsInf(v, 0) || math.IsNaN(v) {
			nodata++
			continue
		}
		n++
		sum += v
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
		if v >= -1 && v < 1 {
			hist[min(int((v+1)/0.1), 19)]++
		}
	}
	nd := got["ndvi"]
	if nd == nil {
		t.Fatalf("no ndvi stats: %v", got)
	}
	if nd.Count != n || nd.Nodata != nodata {
		t.Fatalf("ndvi count %d nodata %d, want %d %d", nd.Count, nd.Nodata, n, nodata)
	}
	if nd.Min != minV || nd.Max != maxV || math.Abs(nd.Mean-sum/float64(n)) > 1e-9 {
		t.Fatalf("ndvi min/max/mean %v %v %v, want %v %v %v", nd.Min, nd.Max, nd.Mean, minV, maxV, sum/float64(n))
	}
	for i := range hist {
		if nd.Histogram[i] != hist[i] {
			t.Fatalf("ndvi histogram %v, want %v", nd.Histogram, hist)
		}
	}
	if b := got["B04"]; b.Count != bandN || math.Abs(b.Mean-bandSum/float64(bandN)) > 1e-9 {
		t.Fatalf("B04 count %d mean %v, want %d %v", b.Count, b.Mean, bandN, bandSum/float64(bandN))
	}
}

func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stats.json")
	runPipeline(t, `
pipeline: t
stages:
  - {id: scene, op: synth, with: {size: 300, chunk: 128}}
  - {id: idx, op: indices, in: scene, replicas: 2}
  - {id: stats, op: stats, in: idx, with: {out: `+out+`}}
`, nil)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res []map[string]any
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("got %d scenes", len(res))
	}
}

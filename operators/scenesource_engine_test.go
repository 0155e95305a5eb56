package operators

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/transport"
)

// Discovery sources through the engine.

// runEngine runs a pipeline through the engine on an in-process NATS
// server; cancelling drain stops its sources and lets the rest drain.
func runEngine(t *testing.T, yaml string, vars map[string]string, drain context.Context) error {
	t.Helper()
	p, err := graph.Load("test.yaml", []byte(yaml), graph.Options{Registry: Registry(), Vars: vars, MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	hard, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return engine.RunLocalDrain(hard, drain, p, engine.Options{Log: t.Logf})
}

// checkStats compares a stats file with GDAL's statistics of the real
// bands (gdalinfo -stats, from the data README).
func checkStats(t *testing.T, file string, want map[string][3]float64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var st SceneStats
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	for col, w := range want {
		cs := st.Columns[col]
		if cs == nil {
			t.Fatalf("%s: no column %s", file, col)
		}
		if cs.Min != w[0] || cs.Max != w[1] || math.Abs(cs.Mean-w[2]) > 0.05 {
			t.Errorf("%s: %s min/max/mean %v/%v/%.2f, GDAL %v/%v/%.1f", file, col, cs.Min, cs.Max, cs.Mean, w[0], w[1], w[2])
		}
	}
}

// TestSTACSearchEngine runs stac.search as a drop-in cog.read through the
// engine: every item found becomes a complete scene downstream.
func TestSTACSearchEngine(t *testing.T) {
	srv := newSTACServer(t)
	out := t.TempDir()
	err := runEngine(t, `
pipeline: t
stages:
  - {id: read, op: stac.search, with: {url: "${url}", max_items: 2, bands: [B02, B04]}}
  - {id: stats, op: stats, in: read, with: {out: "${out}/{scene}.json"}}
`, map[string]string{"url": srv.url(), "out": out}, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"S2A_29RKH_20200219_0_L2A", "S2B_29RKH_20200224_0_L2A"} {
		checkStats(t, filepath.Join(out, id+".json"), map[string][3]float64{"B02": {427, 7335, 1695.8}, "B04": {951, 7818, 3410.0}})
	}
}

// TestWatchEngineDrain runs a continuous watch through the engine: a scene
// that appears is processed to the end, and stopping the run drains cleanly.
func TestWatchEngineDrain(t *testing.T) {
	src := realS2(t)
	root, out := t.TempDir(), t.TempDir()
	drain, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- runEngine(t, `
pipeline: t
stages:
  - {id: read, op: watch, with: {dir: "${dir}", interval: 5ms, bands: [B11, SCL]}}
  - {id: stats, op: stats, in: read, with: {out: "${out}/{scene}.json"}}
`, map[string]string{"dir": root, "out": out}, drain)
	}()
	addScene(t, src, root, "s1", "_READY")
	result := filepath.Join(out, "s1.json")
	waitUntil(t, "the scene's stats", func() bool { _, err := os.Stat(result); return err == nil })
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after drain: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after drain")
	}
	checkStats(t, result, map[string][3]float64{"B11": {1342, 7725, 4774.3}})
}

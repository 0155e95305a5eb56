package pipelines_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/tiff"
	"github.com/rasterflow/rasterflow/transport"
)

// writeScene writes a synthetic scene folder with the LULC layout through
// the synth and cog.write operators, then the _READY marker.
func writeScene(t *testing.T, dir string, seed string) {
	t.Helper()
	for _, b := range []string{"B02", "B03", "B04", "B08"} {
		run(t, "testdata/scene-files.yaml", map[string]string{"seed": seed, "band": b, "out": filepath.Join(dir, b+".tif")})
	}
	if err := os.WriteFile(filepath.Join(dir, "_READY"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLULCStream runs the shipped streaming pipeline: scenes dropped into
// the inbox while it runs are classified into OUT/<scene>.tif, and a stop
// drains and returns cleanly.
func TestLULCStream(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.rf")
	run(t, "lulc-train.yaml", map[string]string{"scene": "synth://384/1", "model": model, "report": filepath.Join(dir, "r.json"),
		"samples": "5000", "trees": "5", "depth": "8"})
	inbox, out := filepath.Join(dir, "inbox"), filepath.Join(dir, "out")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := graph.LoadFile("lulc-stream.yaml", graph.Options{Registry: operators.Registry(), MaxPayload: transport.MaxEmbeddedPayload,
		Vars: map[string]string{"inbox": inbox, "model": model, "out": out}})
	if err != nil {
		t.Fatal(err)
	}
	hard, cancelHard := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelHard()
	drain, stop := context.WithCancel(hard)
	done := make(chan error, 1)
	go func() { done <- engine.RunLocalDrain(hard, drain, p, engine.Options{Log: t.Logf}) }()

	for i, seed := range []string{"5", "6"} {
		name := []string{"scene-a", "scene-b"}[i]
		writeScene(t, filepath.Join(inbox, name), seed)
		waitFile(t, filepath.Join(out, name+".tif"))
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("stopping the stream: %v", err)
	}
	for _, name := range []string{"scene-a", "scene-b"} {
		f, err := tiff.OpenFile(filepath.Join(out, name+".tif"))
		if err != nil {
			t.Fatal(err)
		}
		if info := f.Info(); !info.COG || info.Width != 256 || !info.Palette {
			t.Fatalf("%s: %+v", name, info)
		}
		f.Close()
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within 30 s", path)
}

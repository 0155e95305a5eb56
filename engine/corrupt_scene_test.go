package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/synth"
	"github.com/rasterflow/rasterflow/tiff"
	"github.com/rasterflow/rasterflow/transport"
)

// writeSceneFolder writes B04.tif and B08.tif of a synthetic scene.
func writeSceneFolder(t *testing.T, dir string, size int, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	px := synth.Scene{Size: size, Seed: seed}.Render(0, 0, size, size)
	zero := 0.0
	for i, b := range []string{"B04", "B08"} {
		w, err := tiff.CreateCOG(filepath.Join(dir, b+".tif"), tiff.WriteOptions{Width: size, Height: size, Bands: 1, DType: tiff.Uint16,
			BlockSize: 64, Compression: tiff.CompressionNone, Overviews: 0, Nodata: &zero,
			Geo: tiff.Georef{Keys: tiff.GeoKeys{Short: map[uint16]uint16{tiff.GTModelTypeGeoKey: tiff.ModelTypeProjected, tiff.ProjectedCSTypeGeoKey: 32633}},
				Transform: [6]float64{500000, 10, 0, 5000000, 0, -10}, HasTransform: true}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteWindow(0, 0, size, size, [][]byte{chunk.Bytes(px.Bands[2+i])}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorruptSceneFile puts a scene whose B08 file is cut in half among
// good ones: the run reports that scene as failed (in durable mode on the
// dead-letter subject, with the scene recorded as failed), writes no file
// for it, and completes the others.
func TestCorruptSceneFile(t *testing.T) {
	in := t.TempDir()
	var dirs []string
	for i, name := range []string{"good1", "bad", "good2"} {
		d := filepath.Join(in, name)
		writeSceneFolder(t, d, 256, uint64(i+1))
		dirs = append(dirs, d)
	}
	b08 := filepath.Join(in, "bad", "B08.tif")
	data, _ := os.ReadFile(b08)
	os.WriteFile(b08, data[:len(data)/2], 0o644)
	yaml := `
pipeline: corrupt
stages:
  - {id: read, op: cog.read, with: {scenes: "${scenes}", bands: [B04, B08], chunk: 64}}
  - {id: idx, op: indices, in: read, with: {indices: [ndvi]}}
  - {id: write, op: cog.write, in: idx, with: {out: "${out}/{scene}.tif", columns: [ndvi]}}
`
	check := func(t *testing.T, err error, out string) {
		if !errors.Is(err, engine.ErrScenesFailed) || !strings.Contains(err.Error(), "bad") || !strings.Contains(err.Error(), "B08") {
			t.Fatalf("run error %v, want scene bad failed naming its B08 file", err)
		}
		for _, name := range []string{"good1", "good2"} {
			if _, err := os.Stat(filepath.Join(out, name+".tif")); err != nil {
				t.Fatalf("good scene %s not written: %v", name, err)
			}
		}
		left, _ := os.ReadDir(out)
		for _, e := range left {
			if strings.HasPrefix(e.Name(), "bad") || strings.Contains(e.Name(), ".tmp") {
				t.Fatalf("left behind: %s", e.Name())
			}
		}
	}
	vars := func(out string) map[string]string {
		return map[string]string{"scenes": strings.Join(dirs, ","), "out": out}
	}

	t.Run("in-process", func(t *testing.T) {
		out := t.TempDir()
		p, err := graph.Load("c.yaml", []byte(yaml), graph.Options{Registry: operators.Registry(), Vars: vars(out), MaxPayload: transport.MaxEmbeddedPayload})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		check(t, engine.RunLocal(ctx, p, engine.Options{Log: t.Logf}), out)
	})

	t.Run("durable", func(t *testing.T) {
		if testing.Short() {
			t.Skip("needs a nats-server process (skipped with -short)")
		}
		srv := startNATS(t)
		out := t.TempDir()
		p := loadDurable(t, yaml, vars(out), operators.Registry())
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = engine.Run(ctx, ctx, p, engine.Options{Conn: nc, RunID: "c1", Log: t.Logf, Durable: &engine.DurableOptions{MaxDeliver: 3, AckWait: 2 * time.Second}})
		check(t, err, out)
		st := sceneStates(t, srv.URL(), "corrupt", "c1")
		if st["bad"].State != engine.SceneFailed || st["good1"].State != engine.SceneDone || st["good2"].State != engine.SceneDone {
			t.Fatalf("scene states %+v", st)
		}
	})
}

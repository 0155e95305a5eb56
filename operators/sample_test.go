package operators_test

import (
	"context"
	"fmt"
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

// sampleCSV runs synth → indices → sample → rf.train with a given chunk
// size and replica count and returns the samples rf.train received.
func sampleCSV(t *testing.T, chunkSize, replicas int, perClass int) string {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`
pipeline: s
stages:
  - {id: scene, op: synth, with: {size: 300, chunk: %d, seed: 4}}
  - {id: idx, op: indices, in: scene, replicas: %d, with: {offset: -1000}}
  - {id: sample, op: sample, in: idx, replicas: %d, with: {features: [B04, B08, ndvi], samples: 3000, per_class: %d, validation: 0.25, seed: 9}}
  - {id: train, op: rf.train, in: sample, with: {model: %q, trees: 2, samples_out: %q}}
`, chunkSize, replicas, replicas, perClass, filepath.Join(dir, "m.rf"), filepath.Join(dir, "s.csv"))
	p, err := graph.Load("s.yaml", []byte(src), graph.Options{Registry: operators.Registry(), MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := engine.RunLocal(ctx, p, engine.Options{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "s.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSampleReproducible checks that the sample depends only on the seed,
// not on chunking or parallelism, and that it has the requested size and
// validation share and never contains nodata.
func TestSampleReproducible(t *testing.T) {
	a := sampleCSV(t, 64, 1, 0)
	b := sampleCSV(t, 100, 3, 0)
	if a != b {
		t.Fatal("samples differ between chunk sizes / replica counts")
	}
	var rows, val, nodata int
	lines := splitLines(a)[1:]
	for _, l := range lines {
		rows++
		var b04, b08, ndvi float64
		var label, split int
		if _, err := fmt.Sscanf(l, "%g,%g,%g,%d,%d", &b04, &b08, &ndvi, &label, &split); err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		val += split
		if label == 0 || b04 == 0 || b08 == 0 {
			nodata++
		}
	}
	if rows != 4000 || nodata != 0 {
		t.Fatalf("%d rows (want 4000 = 3000/(1-0.25)), %d with nodata", rows, nodata)
	}
	if val < 850 || val > 1150 {
		t.Fatalf("%d validation rows, want about 1000", val)
	}
}

// TestSampleStratified checks per-class caps.
func TestSampleStratified(t *testing.T) {
	csv := sampleCSV(t, 128, 2, 50)
	counts := map[int]int{}
	for _, l := range splitLines(csv)[1:] {
		var a, b, c float64
		var label, split int
		fmt.Sscanf(l, "%g,%g,%g,%d,%d", &a, &b, &c, &label, &split)
		counts[label]++
	}
	px := synth.Scene{Size: 300, Seed: 4}.Render(0, 0, 300, 300)
	present := map[int]int{}
	for _, v := range px.Label {
		if v != 0 {
			present[int(v)]++
		}
	}
	for cls, n := range present {
		if want := min(n, 50); counts[cls] != want {
			t.Fatalf("class %d: %d samples, want %d (present %d)", cls, counts[cls], want, n)
		}
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range s {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

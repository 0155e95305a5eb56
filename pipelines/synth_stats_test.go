package pipelines_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/synth"
)

// TestSynthStatsMatchDirect runs the shipped synth-stats.yaml on a
// 4096×4096 scene through NATS and compares its statistics with the same
// computation done directly on the generated arrays.
func TestSynthStatsMatchDirect(t *testing.T) {
	size := 4096
	if testing.Short() {
		size = 700
	}
	out := filepath.Join(t.TempDir(), "stats.json")
	run(t, "synth-stats.yaml", map[string]string{"size": itoa(size), "seed": "7", "out": out})
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res []operators.SceneStats
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Scene != "synth-7" || res[0].Width != size || res[0].Chunks != ((size+511)/512)*((size+511)/512) {
		t.Fatalf("unexpected scenes: %+v", res)
	}
	got := res[0].Columns

	px := synth.Scene{Size: size, Seed: 7}.Render(0, 0, size, size)
	b04, b08 := px.Bands[2], px.Bands[3]
	var n, nodata, bandN int64
	var sum, bandSum float64
	minV, maxV := math.Inf(1), math.Inf(-1)
	hist := make([]int64, 64) // stats' default: 64 bins over [-1, 1) for floats
	for i := range b04 {
		if b04[i] != 0 {
			bandN++
			bandSum += float64(b04[i])
		}
		// Every index of the pipeline needs all six bands: a pixel is
		// nodata in ndvi when any band is.
		valid := true
		for b := range px.Bands {
			if px.Bands[b][i] == 0 {
				valid = false
			}
		}
		red := (float32(b04[i]) - 1000) * 0.0001
		nir := (float32(b08[i]) - 1000) * 0.0001
		v := float64((nir - red) / (nir + red))
		if !valid || math.IsInf(v, 0) || math.IsNaN(v) {
			nodata++
			continue
		}
		n++
		sum += v
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
		if v >= -1 && v < 1 {
			hist[min(int((v+1)/(2.0/64)), 63)]++
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
			t.Fatalf("ndvi histogram bin %d: %d, want %d", i, nd.Histogram[i], hist[i])
		}
	}
	if b := got["B04"]; b.Count != bandN || math.Abs(b.Mean-bandSum/float64(bandN)) > 1e-9 {
		t.Fatalf("B04 count %d mean %v, want %d %v", b.Count, b.Mean, bandN, bandSum/float64(bandN))
	}
	t.Logf("%d×%d: ndvi count %d mean %.5f; B04 mean %.2f", size, size, n, nd.Mean, bandSum/float64(bandN))
}

func itoa(v int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

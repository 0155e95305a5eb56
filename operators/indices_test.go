package operators

import (
	"context"
	"math"
	"testing"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/synth"
	"github.com/rasterflow/rasterflow/tiff"
)

// TestIndicesMatchGPUReference checks the CPU operator against package
// cuda's reference implementation, which the GPU kernels reproduce bit for
// bit: the same indices, the same NaN for nodata.
func TestIndicesMatchGPUReference(t *testing.T) {
	names := indexNames()
	cfg, err := op.NewConfig(indicesSpec, map[string]any{"indices": names, "offset": -1000.0})
	if err != nil {
		t.Fatal(err)
	}
	o, err := newIndices(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const size = 200
	px := synth.Scene{Size: size, Seed: 5}.Render(0, 0, size, size)
	zero := 0.0
	var cols []chunk.Col
	bands := map[string][]uint16{}
	for i, b := range synth.Bands {
		cols = append(cols, chunk.Col{Name: b, DType: tiff.Uint16, Nodata: &zero, Data: chunk.Bytes(px.Bands[i])})
		bands[b] = px.Bands[i]
	}
	c, err := chunk.New(chunk.Meta{Scene: "s", Window: chunk.Window{W: size, H: size}, GridW: size, GridH: size}, cols)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	var got *chunk.Chunk
	if err := o.Process(context.Background(), c, func(_ context.Context, out *chunk.Chunk) error { got = out; return nil }); err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	var specs []cuda.IndexSpec
	for _, ic := range o.cols {
		specs = append(specs, *ic.gpu)
	}
	ref := map[string][]float32{}
	if err := cuda.IndicesCPU(bands, &zero, specs, o.scale, o.offset, ref); err != nil {
		t.Fatal(err)
	}
	nodata := 0
	for _, name := range names {
		col, err := got.Column(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range chunk.Slice[float32](col.Data) {
			w := ref[name][i]
			if math.IsNaN(float64(v)) != math.IsNaN(float64(w)) || (!math.IsNaN(float64(v)) && math.Abs(float64(v-w)) > 1e-6*math.Max(1, math.Abs(float64(w)))) {
				t.Fatalf("%s pixel %d: CPU %v, GPU reference %v", name, i, v, w)
			}
			if math.IsNaN(float64(v)) {
				nodata++
			}
		}
	}
	if nodata == 0 {
		t.Fatal("the test scene has no nodata pixels to compare")
	}
}

package operators

import (
	"context"
	"fmt"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/synth"
	"github.com/rasterflow/rasterflow/tiff"
)

var synthSpec = &op.Spec{
	Name: "synth",
	Kind: op.Source,
	Doc: "A seeded synthetic Sentinel-2-like scene: bands B02 B03 B04 B08 B11 B12 as uint16 DN " +
		"(reflectance×10000+1000, nodata 0) and a WorldCover-coded `label` column, in square chunks.",
	Fields: []op.Field{
		{Name: "size", Type: op.Int, Default: 1024, Min: op.Bound(1), Max: op.Bound(1 << 20), Doc: "scene width and height in pixels"},
		{Name: "seed", Type: op.Int, Default: 1, Doc: "random seed; scene i uses seed+i"},
		{Name: "scenes", Type: op.Int, Default: 1, Min: op.Bound(1), Doc: "number of scenes"},
		{Name: "chunk", Type: op.Int, Default: 512, Min: op.Bound(16), Max: op.Bound(1 << 15), Doc: "chunk width and height in pixels"},
		{Name: "name", Type: op.String, Default: "synth", Doc: "scene id prefix; scenes are NAME-SEED"},
		{Name: "bands", Type: op.Strings, Default: synth.Bands, Enum: synth.Bands, Doc: "bands to emit"},
		{Name: "label", Type: op.Bool, Default: true, Doc: "emit the `label` column"},
	},
	Flow: func(cfg *op.Config, _ []op.Schema) (op.Schema, error) {
		s := op.Schema{ChunkPixels: cfg.Int("chunk") * cfg.Int("chunk")}
		for _, b := range cfg.Strings("bands") {
			s.Columns = append(s.Columns, op.Column{Name: b, DType: tiff.Uint16})
		}
		if cfg.Bool("label") {
			s.Columns = append(s.Columns, op.Column{Name: "label", DType: tiff.Uint8})
		}
		return s, nil
	},
	New: func(cfg *op.Config, _ op.Env) (any, error) {
		return &synthSource{size: cfg.Int("size"), seed: cfg.Int("seed"), scenes: cfg.Int("scenes"), chunk: cfg.Int("chunk"),
			name: cfg.String("name"), bands: cfg.Strings("bands"), label: cfg.Bool("label")}, nil
	},
}

type synthSource struct {
	size, seed, scenes, chunk int
	name                      string
	bands                     []string
	label                     bool
}

// SceneID names scene i of a synth source.
func synthSceneID(name string, seed int) string { return fmt.Sprintf("%s-%d", name, seed) }

func (s *synthSource) Run(ctx context.Context, emit op.Emit) error {
	zero := 0.0
	for i := range s.scenes {
		sc := synth.Scene{Size: s.size, Seed: uint64(s.seed + i)}
		crs, gt := sc.Grid()
		wins := Tiles(s.size, s.size, s.chunk)
		err := parallel(ctx, len(wins), func(idx int) error {
			w := wins[idx]
			px := sc.Render(w.X, w.Y, w.W, w.H)
			var cols []chunk.Col
			for _, b := range s.bands {
				bi := indexOf(synth.Bands, b)
				cols = append(cols, chunk.Col{Name: b, DType: tiff.Uint16, Nodata: &zero, Data: chunk.Bytes(px.Bands[bi])})
			}
			if s.label {
				cols = append(cols, chunk.Col{Name: "label", DType: tiff.Uint8, Nodata: &zero, Data: px.Label})
			}
			meta := chunk.Meta{Scene: synthSceneID(s.name, s.seed+i), Window: w, GridW: s.size, GridH: s.size, CRS: crs, Transform: gt, Index: idx, Total: len(wins)}
			c, err := chunk.New(meta, cols)
			if err != nil {
				return err
			}
			return emit(ctx, c)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Tiles cuts a w×h grid into row-major windows of at most size×size.
func Tiles(w, h, size int) []chunk.Window {
	var out []chunk.Window
	for y := 0; y < h; y += size {
		for x := 0; x < w; x += size {
			out = append(out, chunk.Window{X: x, Y: y, W: min(size, w-x), H: min(size, h-y)})
		}
	}
	return out
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

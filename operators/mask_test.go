package operators

import (
	"context"
	"slices"
	"testing"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

// The mask sets every listed column to nodata where any is nodata or the
// SCL class is invalid, drops SCL, and passes clean chunks on unchanged.
func TestMask(t *testing.T) {
	cfg, err := op.NewConfig(maskSpec, map[string]any{"columns": []string{"B04", "B08"}, "scl": "SCL"})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := maskSpec.New(cfg, op.Env{})
	if err != nil {
		t.Fatal(err)
	}
	m := inst.(*maskOp)
	zero := 0.0
	run := func(b04, b08 []uint16, scl []uint8) (got04, got08 []uint16, names []string) {
		t.Helper()
		c, err := chunk.New(chunk.Meta{Scene: "s", Window: chunk.Window{W: len(b04), H: 1}, GridW: len(b04), GridH: 1}, []chunk.Col{
			{Name: "B04", DType: tiff.Uint16, Nodata: &zero, Data: chunk.Bytes(b04)},
			{Name: "B08", DType: tiff.Uint16, Nodata: &zero, Data: chunk.Bytes(b08)},
			{Name: "SCL", DType: tiff.Uint8, Data: scl},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		err = m.Process(context.Background(), c, func(_ context.Context, out *chunk.Chunk) error {
			defer out.Release()
			a, _ := out.Column("B04")
			b, _ := out.Column("B08")
			got04 = slices.Clone(chunk.Slice[uint16](a.Data))
			got08 = slices.Clone(chunk.Slice[uint16](b.Data))
			names = out.Names()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	// Clean: unchanged.
	a, b, names := run([]uint16{1, 2, 3}, []uint16{4, 5, 6}, []uint8{4, 5, 6})
	if !slices.Equal(a, []uint16{1, 2, 3}) || !slices.Equal(b, []uint16{4, 5, 6}) || slices.Contains(names, "SCL") {
		t.Fatalf("clean chunk: B04 %v B08 %v columns %v", a, b, names)
	}
	// Nodata in one band, cloud (9) and shadow (3) in SCL.
	a, b, _ = run([]uint16{0, 2, 3, 7}, []uint16{4, 5, 6, 8}, []uint8{4, 9, 3, 4})
	if !slices.Equal(a, []uint16{0, 0, 0, 7}) || !slices.Equal(b, []uint16{0, 0, 0, 8}) {
		t.Fatalf("masked chunk: B04 %v B08 %v", a, b)
	}
}

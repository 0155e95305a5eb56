package operators

import (
	"fmt"
	"math"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/tiff"
)

// floatColumn returns a column as float32 values, with NaN where the
// column holds its nodata value.
func floatColumn(c *chunk.Chunk, name string) ([]float32, error) {
	col, err := c.Column(name)
	if err != nil {
		return nil, err
	}
	if col.DType == tiff.Float32 && (col.Nodata == nil || math.IsNaN(*col.Nodata)) {
		return chunk.Slice[float32](col.Data), nil
	}
	out := make([]float32, c.Rows())
	nan := float32(math.NaN())
	var nd float64
	hasNd := col.Nodata != nil
	if hasNd {
		nd = *col.Nodata
	}
	switch col.DType {
	case tiff.Uint16:
		src := chunk.Slice[uint16](col.Data)
		for i, v := range src {
			out[i] = float32(v)
			if hasNd && float64(v) == nd {
				out[i] = nan
			}
		}
	case tiff.Uint8:
		for i, v := range col.Data {
			out[i] = float32(v)
			if hasNd && float64(v) == nd {
				out[i] = nan
			}
		}
	default:
		each(col, func(i int, v float64) {
			out[i] = float32(v)
			if hasNd && v == nd {
				out[i] = nan
			}
		})
	}
	return out, nil
}

// labelColumn returns a uint8 label column and its nodata value (0 when
// it has none: class code 0 never names a class).
func labelColumn(c *chunk.Chunk, name string) ([]uint8, uint8, error) {
	col, err := c.Column(name)
	if err != nil {
		return nil, 0, err
	}
	if col.DType != tiff.Uint8 {
		return nil, 0, fmt.Errorf("label column %s is %v, want uint8 class codes", name, col.DType)
	}
	nd := uint8(0)
	if col.Nodata != nil {
		nd = uint8(*col.Nodata)
	}
	return col.Data, nd, nil
}

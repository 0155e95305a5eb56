package operators

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

// Sentinel-2 scene classification (SCL) classes that are not usable
// surface observations: no data, saturated or defective, cloud shadows,
// cloud medium and high probability, thin cirrus.
var defaultSCLInvalid = []string{"0", "1", "3", "8", "9", "10"}

var maskSpec = &op.Spec{
	Name: "mask",
	Kind: op.Transform,
	Doc: "Marks invalid pixels as nodata in every listed column: pixels where any listed column is nodata, " +
		"and (with `scl`) pixels whose Sentinel-2 scene classification is in `classes`.",
	Fields: []op.Field{
		{Name: "columns", Type: op.Strings, Required: true, Doc: "columns that must be valid and are set to nodata where the pixel is invalid"},
		{Name: "scl", Type: op.String, Doc: "scene classification column (e.g. SCL); empty: none"},
		{Name: "classes", Type: op.Strings, Default: defaultSCLInvalid, Doc: "invalid SCL classes (default: no data, saturated, cloud shadow, cloud medium/high, cirrus)"},
		{Name: "drop", Type: op.Bool, Default: true, Doc: "drop the scl column from the output"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		if err := s.Require(cfg.Strings("columns")...); err != nil {
			return s, &op.SettingError{Setting: "columns", Err: err}
		}
		m, err := newMask(cfg)
		if err != nil {
			return s, err
		}
		if m.scl != "" {
			if err := s.Require(m.scl); err != nil {
				return s, &op.SettingError{Setting: "scl", Err: err}
			}
			if m.drop {
				var keep []op.Column
				for _, c := range s.Columns {
					if c.Name != m.scl {
						keep = append(keep, c)
					}
				}
				s.Columns = keep
			}
		}
		return s, nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) { return newMask(cfg) },
}

type maskOp struct {
	columns []string
	scl     string
	invalid [256]bool
	drop    bool
}

func newMask(cfg *op.Config) (*maskOp, error) {
	m := &maskOp{columns: cfg.Strings("columns"), scl: cfg.String("scl"), drop: cfg.Bool("drop")}
	for _, c := range cfg.Strings("classes") {
		v, err := strconv.Atoi(c)
		if err != nil || v < 0 || v > 255 {
			return nil, op.Errorf("classes", "class %q is not a number from 0 to 255", c)
		}
		m.invalid[v] = true
	}
	return m, nil
}

func (m *maskOp) Process(ctx context.Context, c *chunk.Chunk, emit op.Emit) error {
	n := c.Rows()
	bad := make([]bool, n)
	if m.scl != "" {
		col, err := c.Column(m.scl)
		if err != nil {
			return err
		}
		if col.DType != tiff.Uint8 {
			return fmt.Errorf("mask: scl column %s is %v, want uint8", m.scl, col.DType)
		}
		for i, v := range col.Data {
			bad[i] = m.invalid[v]
		}
	}
	cols := make([]chunk.Col, len(m.columns))
	for i, name := range m.columns {
		col, err := c.Column(name)
		if err != nil {
			return err
		}
		if col.Nodata == nil {
			return fmt.Errorf("mask: column %s has no nodata value to mark invalid pixels with", name)
		}
		markNodata(col, bad)
		cols[i] = col
	}
	var nc *chunk.Chunk
	if !slices.Contains(bad, true) {
		// Nothing to mark: pass the columns on without copying them.
		c.Rec.Retain()
		nc = &chunk.Chunk{Meta: c.Meta, Rec: c.Rec}
	} else {
		out := make([]chunk.Col, len(cols))
		for i, col := range cols {
			data := make([]byte, len(col.Data))
			copy(data, col.Data)
			col.Data = data
			setNodata(col, bad)
			out[i] = col
		}
		var err error
		if nc, err = c.With(out...); err != nil {
			return err
		}
	}
	if m.scl != "" && m.drop {
		var keep []string
		for _, name := range nc.Names() {
			if name != m.scl {
				keep = append(keep, name)
			}
		}
		sel, err := nc.Select(keep...)
		nc.Release()
		if err != nil {
			return err
		}
		nc = sel
	}
	return emit(ctx, nc)
}

// markNodata sets bad[i] where the column is nodata (or NaN).
func markNodata(col chunk.Col, bad []bool) {
	nd := *col.Nodata
	switch col.DType {
	case tiff.Uint8:
		markT(col.Data, nd, bad)
	case tiff.Int8:
		markT(chunk.Slice[int8](col.Data), nd, bad)
	case tiff.Uint16:
		markT(chunk.Slice[uint16](col.Data), nd, bad)
	case tiff.Int16:
		markT(chunk.Slice[int16](col.Data), nd, bad)
	case tiff.Uint32:
		markT(chunk.Slice[uint32](col.Data), nd, bad)
	case tiff.Int32:
		markT(chunk.Slice[int32](col.Data), nd, bad)
	case tiff.Float32:
		markT(chunk.Slice[float32](col.Data), nd, bad)
	case tiff.Float64:
		markT(chunk.Slice[float64](col.Data), nd, bad)
	}
}

// markT marks values equal to nodata, and NaN (v != v is false for
// integers, so the compiler drops it there).
func markT[T number](s []T, nodata float64, bad []bool) {
	nd := T(nodata)
	exact := float64(nd) == nodata // a nodata the type cannot hold matches nothing
	for i, v := range s {
		if (exact && v == nd) || v != v {
			bad[i] = true
		}
	}
}

// each calls fn with every value of a column as float64.
func each(col chunk.Col, fn func(i int, v float64)) {
	switch col.DType {
	case tiff.Uint8:
		for i, v := range col.Data {
			fn(i, float64(v))
		}
	case tiff.Int8:
		eachT(chunk.Slice[int8](col.Data), fn)
	case tiff.Uint16:
		eachT(chunk.Slice[uint16](col.Data), fn)
	case tiff.Int16:
		eachT(chunk.Slice[int16](col.Data), fn)
	case tiff.Uint32:
		eachT(chunk.Slice[uint32](col.Data), fn)
	case tiff.Int32:
		eachT(chunk.Slice[int32](col.Data), fn)
	case tiff.Float32:
		eachT(chunk.Slice[float32](col.Data), fn)
	case tiff.Float64:
		eachT(chunk.Slice[float64](col.Data), fn)
	}
}

func eachT[T number](s []T, fn func(int, float64)) {
	for i, v := range s {
		fn(i, float64(v))
	}
}

// setNodata writes the column's nodata value where bad is set.
func setNodata(col chunk.Col, bad []bool) {
	nd := *col.Nodata
	switch col.DType {
	case tiff.Uint8:
		setT(col.Data, bad, uint8(nd))
	case tiff.Int8:
		setT(chunk.Slice[int8](col.Data), bad, int8(nd))
	case tiff.Uint16:
		setT(chunk.Slice[uint16](col.Data), bad, uint16(nd))
	case tiff.Int16:
		setT(chunk.Slice[int16](col.Data), bad, int16(nd))
	case tiff.Uint32:
		setT(chunk.Slice[uint32](col.Data), bad, uint32(nd))
	case tiff.Int32:
		setT(chunk.Slice[int32](col.Data), bad, int32(nd))
	case tiff.Float32:
		setT(chunk.Slice[float32](col.Data), bad, float32(nd))
	case tiff.Float64:
		setT(chunk.Slice[float64](col.Data), bad, nd)
	}
}

func setT[T any](s []T, bad []bool, v T) {
	for i := range s {
		if bad[i] {
			s[i] = v
		}
	}
}

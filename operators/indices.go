package operators

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

// index is a spectral index over named roles (blue, green, red, nir,
// swir1, swir2) in reflectance.
type index struct {
	roles []string
	f     func(v []float32) float32 // v follows roles
	kind  cuda.IndexKind            // the same formula on the GPU
}

func ratio(a, b float32) float32 { return (a - b) / (a + b) }

func nd(v []float32) float32 { return ratio(v[0], v[1]) }

var indexDefs = map[string]index{
	"ndvi":  {[]string{"nir", "red"}, nd, cuda.NormalizedDifference},
	"ndwi":  {[]string{"green", "nir"}, nd, cuda.NormalizedDifference},
	"mndwi": {[]string{"green", "swir1"}, nd, cuda.NormalizedDifference},
	"ndbi":  {[]string{"swir1", "nir"}, nd, cuda.NormalizedDifference},
	"savi":  {[]string{"nir", "red"}, func(v []float32) float32 { return 1.5 * (v[0] - v[1]) / (v[0] + v[1] + 0.5) }, cuda.SAVI},
	"evi": {[]string{"nir", "red", "blue"}, func(v []float32) float32 {
		return 2.5 * (v[0] - v[1]) / (v[0] + 6*v[1] - 7.5*v[2] + 1)
	}, cuda.EVI},
	"nbr":  {[]string{"nir", "swir2"}, nd, cuda.NormalizedDifference},
	"ndmi": {[]string{"nir", "swir1"}, nd, cuda.NormalizedDifference},
}

func indexNames() []string {
	out := make([]string, 0, len(indexDefs))
	for k := range indexDefs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Sentinel-2 band names for each role.
var defaultRoles = map[string]string{"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir1": "B11", "swir2": "B12"}

var indicesSpec = &op.Spec{
	Name: "indices",
	Kind: op.Transform,
	Doc: "Adds spectral indices as float32 columns (nodata NaN): ndvi ndwi mndwi ndbi savi evi nbr ndmi, " +
		"and band-math expressions. Bands are turned into reflectance as (DN + offset) × scale first.",
	Device: true,
	Fields: []op.Field{
		{Name: "indices", Type: op.Strings, Default: []string{"ndvi", "ndwi"}, Enum: indexNames(), Doc: "indices to add"},
		{Name: "expr", Type: op.Map, Doc: "extra columns as expressions over band columns, e.g. {ratio: \"B08 / B04\"}; + - * / and parentheses"},
		{Name: "bands", Type: op.Map, Doc: "band column for each role (blue green red nir swir1 swir2); default Sentinel-2 names B02 B03 B04 B08 B11 B12"},
		{Name: "scale", Type: op.Float, Default: 0.0001, Doc: "reflectance = (DN + offset) × scale"},
		{Name: "offset", Type: op.Float, Default: 0.0, Doc: "added to DN before scaling; -1000 for Sentinel-2 L2A processing baseline ≥ 04.00"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		ix, err := newIndices(cfg)
		if err != nil {
			return s, err
		}
		for _, c := range ix.cols {
			for _, b := range c.bands {
				if !s.Has(b) {
					return s, op.Errorf(c.setting, "%s needs band %s but the input has only %s", c.name, b, strings.Join(s.Names(), ","))
				}
			}
			s = s.With(op.Column{Name: c.name, DType: tiff.Float32})
		}
		return s, nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) {
		o, err := newIndices(cfg)
		if err != nil {
			return nil, err
		}
		ord, err := op.DeviceOrdinal(env.Device, env.GPUs, stageSpread(env.Stage))
		if err != nil {
			return nil, err
		}
		if ord >= 0 {
			if o.gpu, err = env.GPUs.Get(ord); err != nil {
				return nil, err
			}
		}
		return o, nil
	},
}

// stageSpread spreads stages over GPUs by a hash of their id.
func stageSpread(id string) int {
	h := 0
	for _, c := range id {
		h = h*31 + int(c)
	}
	return max(h, -h) & 0xffff
}

type indexCol struct {
	name    string
	setting string
	bands   []string
	eval    func(v []float32) float32
	gpu     *cuda.IndexSpec // nil for expressions
}

type indicesOp struct {
	cols          []indexCol
	scale, offset float32
	gpu           *cuda.Device // nil: CPU
}

func newIndices(cfg *op.Config) (*indicesOp, error) {
	roles := map[string]string{}
	for k, v := range defaultRoles {
		roles[k] = v
	}
	for k, v := range cfg.Map("bands") {
		if _, ok := defaultRoles[k]; !ok {
			return nil, op.Errorf("bands", "unknown role %q (want blue, green, red, nir, swir1 or swir2)", k)
		}
		roles[k] = v
	}
	o := &indicesOp{scale: float32(cfg.Float("scale")), offset: float32(cfg.Float("offset"))}
	for _, name := range cfg.Strings("indices") {
		d := indexDefs[name]
		var bands []string
		for _, r := range d.roles {
			bands = append(bands, roles[r])
		}
		o.cols = append(o.cols, indexCol{name: name, setting: "indices", bands: bands, eval: d.f,
			gpu: &cuda.IndexSpec{Name: name, Kind: d.kind, Bands: bands}})
	}
	exprs := cfg.Map("expr")
	names := make([]string, 0, len(exprs))
	for k := range exprs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		e, err := parseExpr(exprs[name])
		if err != nil {
			return nil, op.Errorf("expr", "%s: %v", name, err)
		}
		bands := e.vars(nil)
		o.cols = append(o.cols, indexCol{name: name, setting: "expr", bands: bands, eval: e.compile(bands)})
	}
	return o, nil
}

// reflectance converts a band column to float32 reflectance, with a
// validity mask from its nodata value.
func (o *indicesOp) reflectance(col chunk.Col, dst []float32, valid []bool) error {
	nd := col.Nodata
	conv := func(v float64) float32 { return (float32(v) + o.offset) * o.scale }
	switch col.DType {
	case tiff.Uint16:
		src := chunk.Slice[uint16](col.Data)
		for i, v := range src {
			dst[i] = (float32(v) + o.offset) * o.scale
			if nd != nil && float64(v) == *nd {
				valid[i] = false
			}
		}
	case tiff.Uint8:
		for i, v := range col.Data {
			dst[i] = (float32(v) + o.offset) * o.scale
			if nd != nil && float64(v) == *nd {
				valid[i] = false
			}
		}
	case tiff.Int16:
		for i, v := range chunk.Slice[int16](col.Data) {
			dst[i] = conv(float64(v))
			if nd != nil && float64(v) == *nd {
				valid[i] = false
			}
		}
	case tiff.Float32:
		for i, v := range chunk.Slice[float32](col.Data) {
			dst[i] = conv(float64(v))
			if (nd != nil && float64(v) == *nd) || v != v {
				valid[i] = false
			}
		}
	default:
		return fmt.Errorf("indices: band %s has unsupported type %v", col.Name, col.DType)
	}
	return nil
}

func (o *indicesOp) Process(ctx context.Context, c *chunk.Chunk, emit op.Emit) error {
	if o.gpu != nil {
		if out, ok, err := o.processGPU(ctx, c); err != nil || ok {
			if err != nil {
				return err
			}
			nc, err := c.With(out...)
			if err != nil {
				return err
			}
			return emit(ctx, nc)
		}
	}
	n := c.Rows()
	refl := map[string][]float32{}
	valid := make([]bool, n)
	for i := range valid {
		valid[i] = true
	}
	for _, ic := range o.cols {
		for _, b := range ic.bands {
			if _, ok := refl[b]; ok {
				continue
			}
			col, err := c.Column(b)
			if err != nil {
				return fmt.Errorf("indices %s: %w", ic.name, err)
			}
			buf := make([]float32, n)
			if err := o.reflectance(col, buf, valid); err != nil {
				return err
			}
			refl[b] = buf
		}
	}
	nan := math.NaN()
	out := make([]chunk.Col, 0, len(o.cols))
	for _, ic := range o.cols {
		res := make([]float32, n)
		srcs := make([][]float32, len(ic.bands))
		for i, b := range ic.bands {
			srcs[i] = refl[b]
		}
		if ic.gpu != nil && ic.gpu.Kind == cuda.NormalizedDifference {
			normalizedDifference(srcs[0], srcs[1], valid, res)
		} else {
			computeIndex(ic.eval, srcs, valid, res)
		}
		out = append(out, chunk.Col{Name: ic.name, DType: tiff.Float32, Nodata: &nan, Data: chunk.Bytes(res)})
	}
	nc, err := c.With(out...)
	if err != nil {
		return err
	}
	return emit(ctx, nc)
}

// normalizedDifference is computeIndex for (a-b)/(a+b), without a call per
// pixel; the result is the same.
func normalizedDifference(a, b []float32, valid []bool, res []float32) {
	nan := float32(math.NaN())
	a, b = a[:len(res)], b[:len(res)]
	for i := range res {
		r := (a[i] - b[i]) / (a[i] + b[i])
		if !valid[i] || math.IsInf(float64(r), 0) {
			r = nan
		}
		res[i] = r
	}
}

// computeIndex evaluates f per pixel; invalid pixels and non-finite results
// are NaN.
func computeIndex(f func([]float32) float32, srcs [][]float32, valid []bool, res []float32) {
	nan := float32(math.NaN())
	v := make([]float32, len(srcs))
	for i := range res {
		if !valid[i] {
			res[i] = nan
			continue
		}
		for k, s := range srcs {
			v[k] = s[i]
		}
		r := f(v)
		if math.IsInf(float64(r), 0) {
			r = nan
		}
		res[i] = r
	}
}

// processGPU computes the indices on the GPU when every index is a
// built-in one over uint16 bands sharing one nodata value; ok is false when
// the chunk needs the CPU path.
func (o *indicesOp) processGPU(ctx context.Context, c *chunk.Chunk) (cols []chunk.Col, ok bool, err error) {
	bands := map[string][]uint16{}
	var nodata *float64
	var specs []cuda.IndexSpec
	for _, ic := range o.cols {
		if ic.gpu == nil {
			return nil, false, nil
		}
		specs = append(specs, *ic.gpu)
		for _, b := range ic.bands {
			col, err := c.Column(b)
			if err != nil {
				return nil, false, fmt.Errorf("indices %s: %w", ic.name, err)
			}
			if col.DType != tiff.Uint16 {
				return nil, false, nil
			}
			if len(bands) > 0 && !sameNodata(nodata, col.Nodata) {
				return nil, false, nil
			}
			nodata = col.Nodata
			bands[b] = chunk.Slice[uint16](col.Data)
		}
	}
	out := map[string][]float32{}
	for _, s := range specs {
		out[s.Name] = make([]float32, c.Rows())
	}
	if err := o.gpu.Indices(ctx, bands, nodata, specs, o.scale, o.offset, out); err != nil {
		return nil, false, fmt.Errorf("indices on GPU %d: %w", o.gpu.Info().Ordinal, err)
	}
	nan := math.NaN()
	for _, s := range specs {
		cols = append(cols, chunk.Col{Name: s.Name, DType: tiff.Float32, Nodata: &nan, Data: chunk.Bytes(out[s.Name])})
	}
	return cols, true, nil
}

func sameNodata(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

package operators

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/forest"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

// sampleRows is the largest number of rows in one emitted sample chunk.
const sampleRows = 1 << 18

var sampleSpec = &op.Spec{
	Name: "sample",
	Kind: op.Transform,
	Doc: "Draws labelled pixels for training across all chunks and scenes by reservoir sampling — uniformly, or stratified " +
		"with a cap per class — and when its input ends emits them as chunks of feature columns (float32), the label and " +
		"`split` (0 train, 1 validation). Pixels with nodata in any feature or the label are never sampled.",
	Fields: []op.Field{
		{Name: "features", Type: op.Strings, Required: true, Doc: "feature columns"},
		{Name: "label", Type: op.String, Default: "label", Doc: "label column (uint8 class codes)"},
		{Name: "samples", Type: op.Int, Default: 200000, Min: op.Bound(1), Max: op.Bound(1 << 28), Doc: "training samples (uniform strategy); validation samples come on top"},
		{Name: "per_class", Type: op.Int, Default: 0, Min: op.Bound(0), Doc: "stratified: samples kept per class (0: uniform sampling of `samples`)"},
		{Name: "validation", Type: op.Float, Default: 0.2, Min: op.Bound(0), Max: op.Bound(0.9), Doc: "fraction of the drawn samples held back for validation"},
		{Name: "seed", Type: op.Int, Default: 42, Doc: "random seed"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		if err := s.Require(cfg.Strings("features")...); err != nil {
			return s, &op.SettingError{Setting: "features", Err: err}
		}
		if err := s.Require(cfg.String("label")); err != nil {
			return s, &op.SettingError{Setting: "label", Err: err}
		}
		if c, _ := s.Lookup(cfg.String("label")); c.DType != tiff.Uint8 {
			return s, op.Errorf("label", "label column %s is %v, want uint8 class codes", c.Name, c.DType)
		}
		out := op.Schema{ChunkPixels: sampleRows}
		for _, f := range cfg.Strings("features") {
			out.Columns = append(out.Columns, op.Column{Name: f, DType: tiff.Float32})
		}
		out.Columns = append(out.Columns, op.Column{Name: cfg.String("label"), DType: tiff.Uint8}, op.Column{Name: "split", DType: tiff.Uint8})
		return out, nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) {
		s := &sampleOp{features: cfg.Strings("features"), label: cfg.String("label"), validation: cfg.Float("validation"), seed: uint64(cfg.Int("seed"))}
		if pc := cfg.Int("per_class"); pc > 0 {
			sm, err := forest.NewSampler(forest.SamplerConfig{Features: s.features, PerClass: pc, Validation: s.validation, Seed: s.seed})
			if err != nil {
				return nil, err
			}
			s.strat = sm
		} else {
			total := int(math.Ceil(float64(cfg.Int("samples")) / (1 - s.validation)))
			s.uni = newReservoir(len(s.features), total, s.seed)
		}
		return s, nil
	},
}

type sampleOp struct {
	features   []string
	label      string
	validation float64
	seed       uint64

	mu    sync.Mutex // Add is order-dependent: chunks are added one at a time
	strat *forest.Sampler
	uni   *reservoir
}

func (s *sampleOp) Process(ctx context.Context, c *chunk.Chunk, _ op.Emit) error {
	X := make([][]float32, len(s.features))
	for i, f := range s.features {
		col, err := floatColumn(c, f)
		if err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		X[i] = col
	}
	y, nd, err := labelColumn(c, s.label)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	valid := make([]bool, len(y))
	for i := range valid {
		ok := y[i] != nd && y[i] != 0
		for _, col := range X {
			if v := col[i]; v != v {
				ok = false
				break
			}
		}
		valid[i] = ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.strat != nil {
		return s.strat.Add(X, y, valid)
	}
	s.uni.add(X, y, valid)
	return nil
}

// Finish emits the sample: training rows first, then validation rows.
func (s *sampleOp) Finish(ctx context.Context, emit op.Emit) error {
	var train, val forest.Dataset
	if s.strat != nil {
		train, val = s.strat.Split()
	} else {
		train, val = s.uni.split(s.features, s.validation)
	}
	if len(train.Y) == 0 {
		return fmt.Errorf("sample: no valid labelled pixels in the input")
	}
	rows := len(train.Y) + len(val.Y)
	total := (rows + sampleRows - 1) / sampleRows
	zero := 0.0
	for i := 0; i < total; i++ {
		lo, hi := i*sampleRows, min((i+1)*sampleRows, rows)
		cols := make([]chunk.Col, 0, len(s.features)+2)
		for f, name := range s.features {
			vals := make([]float32, 0, hi-lo)
			vals = appendRange(vals, train.X[f], val.X[f], lo, hi)
			cols = append(cols, chunk.Col{Name: name, DType: tiff.Float32, Data: chunk.Bytes(vals)})
		}
		labels := appendRange(make([]uint8, 0, hi-lo), train.Y, val.Y, lo, hi)
		split := make([]uint8, hi-lo)
		for r := range split {
			if lo+r >= len(train.Y) {
				split[r] = 1
			}
		}
		cols = append(cols, chunk.Col{Name: s.label, DType: tiff.Uint8, Nodata: &zero, Data: labels}, chunk.Col{Name: "split", DType: tiff.Uint8, Data: split})
		c, err := chunk.New(chunk.Meta{Scene: "samples", Window: chunk.Window{W: hi - lo, H: 1}, GridW: rows, GridH: 1, Index: i, Total: total}, cols)
		if err != nil {
			return err
		}
		if err := emit(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// appendRange appends rows [lo,hi) of the concatenation a‖b.
func appendRange[T any](dst, a, b []T, lo, hi int) []T {
	if lo < len(a) {
		dst = append(dst, a[lo:min(hi, len(a))]...)
	}
	if hi > len(a) {
		dst = append(dst, b[max(lo-len(a), 0):hi-len(a)]...)
	}
	return dst
}

// reservoir keeps a uniform random sample of fixed size (Algorithm R).
type reservoir struct {
	X    [][]float32
	Y    []uint8
	size int
	seen int64
	rng  *rand.Rand
}

func newReservoir(features, size int, seed uint64) *reservoir {
	return &reservoir{X: make([][]float32, features), size: size, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

func (r *reservoir) add(X [][]float32, y []uint8, valid []bool) {
	for i := range y {
		if !valid[i] {
			continue
		}
		r.seen++
		if len(r.Y) < r.size {
			for f := range X {
				r.X[f] = append(r.X[f], X[f][i])
			}
			r.Y = append(r.Y, y[i])
			continue
		}
		if j := r.rng.Int64N(r.seen); j < int64(r.size) {
			for f := range X {
				r.X[f][j] = X[f][i]
			}
			r.Y[j] = y[i]
		}
	}
}

// split shuffles the reservoir and cuts off a validation fraction.
func (r *reservoir) split(features []string, validation float64) (train, val forest.Dataset) {
	n := len(r.Y)
	r.rng.Shuffle(n, func(i, j int) {
		r.Y[i], r.Y[j] = r.Y[j], r.Y[i]
		for f := range r.X {
			r.X[f][i], r.X[f][j] = r.X[f][j], r.X[f][i]
		}
	})
	nTrain := n - int(math.Round(float64(n)*validation))
	train = forest.Dataset{Features: features, Y: r.Y[:nTrain], X: make([][]float32, len(r.X))}
	val = forest.Dataset{Features: features, Y: r.Y[nTrain:], X: make([][]float32, len(r.X))}
	for f := range r.X {
		train.X[f], val.X[f] = r.X[f][:nTrain], r.X[f][nTrain:]
	}
	return train, val
}

package geo

import (
	"fmt"
	"math"
)

// Transformer converts coordinates from one CRS to another. It is safe for
// concurrent use.
type Transformer struct {
	src, dst projector
	identity bool
}

// NewTransformer returns a Transformer from src to dst coordinates.
func NewTransformer(src, dst *CRS) (*Transformer, error) {
	if src == nil || dst == nil {
		return nil, fmt.Errorf("geo: NewTransformer: nil CRS")
	}
	s, err := src.projector()
	if err != nil {
		return nil, err
	}
	d, err := dst.projector()
	if err != nil {
		return nil, err
	}
	return &Transformer{src: s, dst: d, identity: src.Equal(dst)}, nil
}

// Transform converts the points (xs[i], ys[i]) in place. Points that cannot
// be converted are set to NaN and the error wraps ErrDomain.
func (t *Transformer) Transform(xs, ys []float64) error {
	if len(xs) != len(ys) {
		return fmt.Errorf("geo: Transform: %d x values but %d y values", len(xs), len(ys))
	}
	if t.identity {
		return nil
	}
	bad := 0
	for i := range xs {
		x, y, ok := t.point(xs[i], ys[i])
		if !ok {
			x, y = math.NaN(), math.NaN()
			bad++
		}
		xs[i], ys[i] = x, y
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d of %d points", ErrDomain, bad, len(xs))
	}
	return nil
}

// point converts one point.
func (t *Transformer) point(x, y float64) (float64, float64, bool) {
	if t.identity {
		return x, y, true
	}
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, 0, false
	}
	lam, phi, ok := t.src.inverse(x, y)
	if !ok {
		return 0, 0, false
	}
	x, y, ok = t.dst.forward(lam, phi)
	if !ok || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return 0, 0, false
	}
	return x, y, true
}

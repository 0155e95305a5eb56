package forest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerConfig configures a Sampler.
type SamplerConfig struct {
	Features   []string // feature names, one per column passed to Add
	PerClass   int      // samples kept per class (reservoir size); 0 keeps all
	Validation float64  // fraction of every class's kept samples set aside for validation, in [0,1)
	Seed       uint64
}

// Sampler draws a stratified random sample from data that arrives in chunks:
// one reservoir per class code (Algorithm R), so every sample of a class seen
// so far has the same chance PerClass/seen of being kept, whatever the chunk
// sizes. Results are reproducible for the same Seed and the same sequence of
// Add calls. Memory is PerClass × classes × features float32 values.
type Sampler struct {
	cfg  SamplerConfig
	rng  *rand.Rand
	res  [256]reservoir
	nfea int
}

type reservoir struct {
	seen int64
	rows []float32 // kept samples, row-major, nfea values each
}

// NewSampler returns an empty Sampler.
func NewSampler(cfg SamplerConfig) (*Sampler, error) {
	if len(cfg.Features) == 0 {
		return nil, fmt.Errorf("%w: sampler needs at least one feature", ErrParams)
	}
	if cfg.PerClass < 0 || !(cfg.Validation >= 0 && cfg.Validation < 1) {
		return nil, fmt.Errorf("%w: sampler per_class %d, validation %v (want >= 0 and [0,1))", ErrParams, cfg.PerClass, cfg.Validation)
	}
	cfg.Features = slices.Clone(cfg.Features)
	return &Sampler{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x53a3713)), nfea: len(cfg.Features)}, nil
}

// Add offers the rows of one chunk: X[f][i] column-major in Features order,
// y[i] the class code, valid[i] whether row i may be sampled (nil: all rows).
func (s *Sampler) Add(X [][]float32, y []uint8, valid []bool) error {
	if len(X) != s.nfea {
		return fmt.Errorf("%w: sampler got %d feature columns, want %d", ErrShape, len(X), s.nfea)
	}
	for f, c := range X {
		if len(c) != len(y) {
			return fmt.Errorf("%w: sampler feature %d has %d rows, labels %d", ErrShape, f, len(c), len(y))
		}
	}
	if valid != nil && len(valid) != len(y) {
		return fmt.Errorf("%w: sampler valid mask has %d rows, labels %d", ErrShape, len(valid), len(y))
	}
	nf, capacity := s.nfea, s.cfg.PerClass
	for i, c := range y {
		if valid != nil && !valid[i] {
			continue
		}
		r := &s.res[c]
		r.seen++
		var dst []float32
		switch {
		case capacity == 0 || r.seen <= int64(capacity):
			r.rows = slices.Grow(r.rows, nf)
			dst = r.rows[len(r.rows) : len(r.rows)+nf]
			r.rows = r.rows[:len(r.rows)+nf]
		default:
			j := s.rng.Int64N(r.seen)
			if j >= int64(capacity) {
				continue
			}
			dst = r.rows[int(j)*nf : int(j)*nf+nf]
		}
		for f := range nf {
			dst[f] = X[f][i]
		}
	}
	return nil
}

// Seen returns, per class code, how many valid rows were offered.
func (s *Sampler) Seen() map[uint8]int64 {
	out := map[uint8]int64{}
	for c := range s.res {
		if s.res[c].seen > 0 {
			out[uint8(c)] = s.res[c].seen
		}
	}
	return out
}

// Split returns the kept samples as a training and a validation set. Within
// each class the samples are shuffled and round(Validation × kept) of them go
// to validation. Split does not change the Sampler; more chunks may follow.
func (s *Sampler) Split() (train, val Dataset) {
	nf := s.nfea
	rng := rand.New(rand.NewPCG(s.cfg.Seed, 0x5917))
	train = Dataset{Features: slices.Clone(s.cfg.Features), X: make([][]float32, nf)}
	val = Dataset{Features: slices.Clone(s.cfg.Features), X: make([][]float32, nf)}
	for c := range s.res {
		rows := s.res[c].rows
		n := len(rows) / nf
		if n == 0 {
			continue
		}
		order := rng.Perm(n)
		nv := int(math.Round(s.cfg.Validation * float64(n)))
		for j, i := range order {
			d := &train
			if j < nv {
				d = &val
			}
			d.Y = append(d.Y, uint8(c))
			for f := range nf {
				d.X[f] = append(d.X[f], rows[i*nf+f])
			}
		}
	}
	return train, val
}

package operators

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

// sampleRows is the largest number of rows in one emitted sample chunk.
const sampleRows = 1 << 18

var sampleSpec = &op.Spec{
	Name: "sample",
	Kind: op.Transform,
	Doc: "Draws labelled pixels for training across all chunks and scenes — uniformly, or stratified with a cap per class — " +
		"by bottom-k sampling on a hash of (seed, scene, pixel), so the sample is reproducible whatever the chunk order, and " +
		"when its input ends emits them as chunks of feature columns (float32), the label and `split` (0 train, 1 validation). " +
		"Pixels with nodata in any feature or the label are never sampled.",
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
		s := &sampleOp{features: cfg.Strings("features"), label: cfg.String("label"), validation: cfg.Float("validation"),
			seed: uint64(cfg.Int("seed")), perClass: cfg.Int("per_class"), classes: map[uint8]*bottomK{}}
		total := int(math.Ceil(float64(cfg.Int("samples")) / (1 - s.validation)))
		s.uniform = &bottomK{k: total}
		return s, nil
	},
}

type sampleOp struct {
	features   []string
	label      string
	validation float64
	seed       uint64
	perClass   int // 0: uniform

	mu      sync.Mutex
	uniform *bottomK
	classes map[uint8]*bottomK
	total   int
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
	// Each pixel's priority is a hash of the seed, the scene and the
	// pixel's position, so the sample depends neither on the order chunks
	// arrive in nor on how many workers there are.
	sceneKey := hashString(c.Meta.Scene) ^ s.seed
	win := c.Meta.Window
	type cand struct {
		prio uint64
		row  int
	}
	var cands []cand
	for i := range y {
		if y[i] == nd || y[i] == 0 {
			continue
		}
		ok := true
		for _, col := range X {
			if v := col[i]; v != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pos := uint64((win.Y+i/win.W)*c.Meta.GridW + win.X + i%win.W)
		cands = append(cands, cand{mix64(sceneKey ^ mix64(pos)), i})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cd := range cands {
		h := s.heapFor(y[cd.row])
		if !h.wants(cd.prio) {
			continue
		}
		vals := make([]float32, len(X))
		for f := range X {
			vals[f] = X[f][cd.row]
		}
		h.push(sampleRow{prio: cd.prio, x: vals, y: y[cd.row]})
	}
	return nil
}

func (s *sampleOp) heapFor(class uint8) *bottomK {
	if s.perClass == 0 {
		return s.uniform
	}
	h, ok := s.classes[class]
	if !ok {
		h = &bottomK{k: s.perClass}
		s.classes[class] = h
	}
	return h
}

// Finish emits the sample: training rows first, then validation rows.
func (s *sampleOp) Finish(ctx context.Context, emit op.Emit) error {
	var rows []sampleRow
	if s.perClass == 0 {
		rows = s.uniform.rows
	} else {
		for _, h := range s.classes {
			rows = append(rows, h.rows...)
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("sample: no valid labelled pixels in the input")
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].prio < rows[j].prio })
	// Validation rows are chosen by another bit-mix of the priority, per
	// class in stratified mode, so both splits keep the class balance.
	var train, val []sampleRow
	for _, r := range rows {
		if float64(mix64(r.prio^0x9e3779b97f4a7c15)>>11)/(1<<53) < s.validation {
			val = append(val, r)
		} else {
			train = append(train, r)
		}
	}
	all := append(train, val...)
	total := (len(all) + sampleRows - 1) / sampleRows
	zero := 0.0
	for i := 0; i < total; i++ {
		part := all[i*sampleRows : min((i+1)*sampleRows, len(all))]
		cols := make([]chunk.Col, 0, len(s.features)+2)
		for f, name := range s.features {
			vals := make([]float32, len(part))
			for r, row := range part {
				vals[r] = row.x[f]
			}
			cols = append(cols, chunk.Col{Name: name, DType: tiff.Float32, Data: chunk.Bytes(vals)})
		}
		labels, split := make([]uint8, len(part)), make([]uint8, len(part))
		for r, row := range part {
			labels[r] = row.y
			if i*sampleRows+r >= len(train) {
				split[r] = 1
			}
		}
		cols = append(cols, chunk.Col{Name: s.label, DType: tiff.Uint8, Nodata: &zero, Data: labels}, chunk.Col{Name: "split", DType: tiff.Uint8, Data: split})
		c, err := chunk.New(chunk.Meta{Scene: "samples", Window: chunk.Window{W: len(part), H: 1}, GridW: len(all), GridH: 1, Index: i, Total: total}, cols)
		if err != nil {
			return err
		}
		if err := emit(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// sampleRow is one sampled pixel.
type sampleRow struct {
	prio uint64
	x    []float32
	y    uint8
}

// bottomK keeps the k rows with the smallest priorities (a max-heap on
// priority): a uniform random sample without replacement when priorities
// are independent hashes, whatever order rows arrive in.
type bottomK struct {
	k    int
	rows []sampleRow
}

func (h *bottomK) wants(prio uint64) bool { return len(h.rows) < h.k || prio < h.rows[0].prio }

func (h *bottomK) push(r sampleRow) {
	if len(h.rows) < h.k {
		h.rows = append(h.rows, r)
		for i := len(h.rows) - 1; i > 0; {
			p := (i - 1) / 2
			if h.rows[p].prio >= h.rows[i].prio {
				break
			}
			h.rows[p], h.rows[i] = h.rows[i], h.rows[p]
			i = p
		}
		return
	}
	h.rows[0] = r
	for i := 0; ; {
		l, rr, big := 2*i+1, 2*i+2, i
		if l < len(h.rows) && h.rows[l].prio > h.rows[big].prio {
			big = l
		}
		if rr < len(h.rows) && h.rows[rr].prio > h.rows[big].prio {
			big = rr
		}
		if big == i {
			return
		}
		h.rows[i], h.rows[big] = h.rows[big], h.rows[i]
		i = big
	}
}

func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

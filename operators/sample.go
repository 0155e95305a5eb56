package operators

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
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
		s.uniform = newBottomK(total, len(s.features))
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
	// Pixels above their class's current threshold can never be kept:
	// they are dropped here, without the lock, which is nearly all of
	// them once the first chunks have filled the sample.
	var thr [256]uint64
	s.mu.Lock()
	for k := range thr {
		thr[k] = s.uniform.thr
	}
	if s.perClass > 0 {
		for k := range thr {
			thr[k] = math.MaxUint64
		}
		for k, h := range s.classes {
			thr[k] = h.thr
		}
	}
	s.mu.Unlock()
	var cands []int32
	var prios []uint64
	for i := range y {
		if y[i] == nd || y[i] == 0 {
			continue
		}
		pos := uint64((win.Y+i/win.W)*c.Meta.GridW + win.X + i%win.W)
		p := mix64(sceneKey ^ mix64(pos))
		if p > thr[y[i]] {
			continue
		}
		ok := true
		for _, col := range X {
			if v := col[i]; v != v {
				ok = false
				break
			}
		}
		if ok {
			cands = append(cands, int32(i))
			prios = append(prios, p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, i := range cands {
		s.heapFor(y[i]).push(prios[j], y[i], X, int(i))
	}
	return nil
}

func (s *sampleOp) heapFor(class uint8) *bottomK {
	if s.perClass == 0 {
		return s.uniform
	}
	h, ok := s.classes[class]
	if !ok {
		h = newBottomK(s.perClass, len(s.features))
		s.classes[class] = h
	}
	return h
}

// Finish emits the sample: training rows first, then validation rows.
func (s *sampleOp) Finish(ctx context.Context, emit op.Emit) error {
	var rows []sampleRow
	if s.perClass == 0 {
		rows = s.uniform.rows()
	} else {
		for _, h := range s.classes {
			rows = append(rows, h.rows()...)
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("sample: no valid labelled pixels in the input")
	}
	slices.SortFunc(rows, func(a, b sampleRow) int { return cmp.Compare(a.prio, b.prio) })
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

// bottomK keeps the k rows with the smallest priorities: a uniform random
// sample without replacement when priorities are independent hashes,
// whatever order rows arrive in. Rows below the threshold are appended;
// when 2k are held, the k smallest are kept and the threshold drops to the
// largest of them, so each row costs O(1) amortised.
type bottomK struct {
	k, nf int
	prio  []uint64
	y     []uint8
	x     []float32 // nf features per row
	thr   uint64    // rows with a larger priority are not wanted
}

func newBottomK(k, nf int) *bottomK { return &bottomK{k: k, nf: nf, thr: math.MaxUint64} }

// push adds row i of X (one slice per feature) when it is wanted.
func (h *bottomK) push(prio uint64, y uint8, X [][]float32, i int) {
	if prio > h.thr {
		return
	}
	h.prio = append(h.prio, prio)
	h.y = append(h.y, y)
	for _, col := range X {
		h.x = append(h.x, col[i])
	}
	if len(h.prio) >= 2*h.k {
		h.compact()
	}
}

// compact keeps the k rows with the smallest priorities, in arrival order,
// and lowers the threshold to the largest kept priority.
func (h *bottomK) compact() {
	if len(h.prio) <= h.k {
		return
	}
	kth := kthSmallest(slices.Clone(h.prio), h.k-1)
	below := 0 // rows strictly below kth; ties with kth fill the rest
	for _, p := range h.prio {
		if p < kth {
			below++
		}
	}
	ties := h.k - below
	n := 0
	for i, p := range h.prio {
		if p > kth || (p == kth && ties == 0) {
			continue
		}
		if p == kth {
			ties--
		}
		h.prio[n], h.y[n] = p, h.y[i]
		copy(h.x[n*h.nf:(n+1)*h.nf], h.x[i*h.nf:(i+1)*h.nf])
		n++
	}
	h.prio, h.y, h.x = h.prio[:n], h.y[:n], h.x[:n*h.nf]
	h.thr = kth
}

// rows returns the kept rows (at most k) in priority order.
func (h *bottomK) rows() []sampleRow {
	h.compact()
	rows := make([]sampleRow, len(h.prio))
	for i, p := range h.prio {
		rows[i] = sampleRow{prio: p, x: h.x[i*h.nf : (i+1)*h.nf : (i+1)*h.nf], y: h.y[i]}
	}
	slices.SortFunc(rows, func(a, b sampleRow) int { return cmp.Compare(a.prio, b.prio) })
	return rows
}

// kthSmallest returns the k-th smallest value of a (0-based), reordering a.
func kthSmallest(a []uint64, k int) uint64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		// Median of three as the pivot, then Hoare partition.
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
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

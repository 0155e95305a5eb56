package cuda

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// FlatForest is a random forest as flat arrays, the layout the device uses.
// Nodes of all trees share the per-node arrays (indexes are absolute):
//
//   - Feature[i] is the feature tested by node i, or -1 for a leaf;
//   - an internal node sends a row to Right[i] when x[Feature[i]] >
//     Threshold[i] and to Left[i] otherwise (NaN goes left);
//   - a leaf's class probabilities are Proba[LeafValue[i] : LeafValue[i]+NumClasses]
//     (LeafValue of internal nodes is ignored);
//   - Roots[t] is the root node of tree t.
//
// The predicted class index is the argmax of the probabilities summed over
// the trees in order (ties to the lowest index), reported as Classes[index]
// when Classes is set; the confidence is that sum times 1/len(Roots).
type FlatForest struct {
	NumFeatures int
	NumClasses  int
	Feature     []int32
	Threshold   []float32
	Left, Right []int32
	LeafValue   []int32
	Proba       []float32
	Roots       []int32
	Classes     []uint8 // optional class codes, len NumClasses
}

// Validate checks the forest's shape: array lengths, indexes in range, and
// that every tree is a tree (no cycles, no node reachable twice). It
// returns the greatest root-to-leaf depth in edges.
func (f *FlatForest) Validate() (maxDepth int, err error) {
	bad := func(format string, a ...any) (int, error) {
		return 0, fmt.Errorf("%w: "+format, append([]any{ErrForest}, a...)...)
	}
	n := len(f.Feature)
	switch {
	case f.NumFeatures <= 0:
		return bad("NumFeatures %d", f.NumFeatures)
	case f.NumClasses <= 0 || f.NumClasses > 256:
		return bad("NumClasses %d (want 1..256)", f.NumClasses)
	case len(f.Roots) == 0:
		return bad("no trees")
	case len(f.Threshold) != n || len(f.Left) != n || len(f.Right) != n || len(f.LeafValue) != n:
		return bad("node arrays have lengths %d %d %d %d %d", n, len(f.Threshold), len(f.Left), len(f.Right), len(f.LeafValue))
	case n > math.MaxInt32 || len(f.Proba) > math.MaxInt32:
		return bad("too many nodes")
	case f.Classes != nil && len(f.Classes) != f.NumClasses:
		return bad("%d class codes for %d classes", len(f.Classes), f.NumClasses)
	}
	// Iterative walk of every tree; owner marks the tree that reached a node.
	owner := make([]int32, n)
	type item struct{ node, depth int32 }
	var stack []item
	for t, r := range f.Roots {
		if r < 0 || int(r) >= n {
			return bad("tree %d: root %d out of range", t, r)
		}
		stack = append(stack[:0], item{r, 0})
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i := it.node
			if owner[i] != 0 {
				return bad("tree %d: node %d reached twice (cycle or shared node)", t, i)
			}
			owner[i] = int32(t) + 1
			ft := f.Feature[i]
			if ft < 0 {
				if ft != -1 {
					return bad("node %d: feature %d", i, ft)
				}
				if v := int64(f.LeafValue[i]); v < 0 || v+int64(f.NumClasses) > int64(len(f.Proba)) {
					return bad("leaf %d: probabilities at %d..%d, table has %d", i, v, v+int64(f.NumClasses), len(f.Proba))
				}
				maxDepth = max(maxDepth, int(it.depth))
				continue
			}
			if int(ft) >= f.NumFeatures {
				return bad("node %d: feature %d of %d", i, ft, f.NumFeatures)
			}
			for _, c := range []int32{f.Left[i], f.Right[i]} {
				if c < 0 || int(c) >= n {
					return bad("node %d: child %d out of range", i, c)
				}
				stack = append(stack, item{c, it.depth + 1})
			}
		}
	}
	return maxDepth, nil
}

// checkPredict validates Predict's arguments and returns the row count.
func (f *FlatForest) checkPredict(X [][]float32, class []uint8, conf []float32) (int, error) {
	if len(X) != f.NumFeatures {
		return 0, fmt.Errorf("%w: %d feature columns, forest has %d", ErrShape, len(X), f.NumFeatures)
	}
	rows := len(X[0])
	for i, c := range X {
		if len(c) != rows {
			return 0, fmt.Errorf("%w: feature column %d has %d rows, column 0 has %d", ErrShape, i, len(c), rows)
		}
	}
	if class != nil && len(class) != rows {
		return 0, fmt.Errorf("%w: class output has %d rows, want %d", ErrShape, len(class), rows)
	}
	if conf != nil && len(conf) != rows {
		return 0, fmt.Errorf("%w: conf output has %d rows, want %d", ErrShape, len(conf), rows)
	}
	return rows, nil
}

// Predict is the pure-Go reference for DeviceForest.Predict. X is
// column-major (X[feature][row]); class and conf are optional (nil).
func (f *FlatForest) Predict(X [][]float32, class []uint8, conf []float32) error {
	if _, err := f.Validate(); err != nil {
		return err
	}
	rows, err := f.checkPredict(X, class, conf)
	if err != nil {
		return err
	}
	nk := f.NumClasses
	acc := make([]float32, nk)
	inv := 1 / float32(len(f.Roots))
	for r := range rows {
		clear(acc)
		for _, n := range f.Roots {
			for f.Feature[n] >= 0 {
				if X[f.Feature[n]][r] > f.Threshold[n] {
					n = f.Right[n]
				} else {
					n = f.Left[n]
				}
			}
			p := f.Proba[f.LeafValue[n] : int(f.LeafValue[n])+nk]
			for k, v := range p {
				acc[k] += v
			}
		}
		best := 0
		for k := 1; k < nk; k++ {
			if acc[k] > acc[best] {
				best = k
			}
		}
		if class != nil {
			if f.Classes != nil {
				class[r] = f.Classes[best]
			} else {
				class[r] = uint8(best)
			}
		}
		if conf != nil {
			conf[r] = acc[best] * inv
		}
	}
	return nil
}

// DeviceForest is a FlatForest uploaded to a device. It is safe for
// concurrent use; Predict calls on one device run one at a time.
// Close it before closing its Device.
type DeviceForest struct {
	dv              *Device
	numFeatures     int
	numClasses      int
	trees, maxDepth int
	mu              sync.Mutex
	nodes, proba    buffer
	roots, classMap buffer
	closed          bool
}

// LoadForest validates f and uploads it to the device's pool, where it stays
// until Close. The device kernel handles at most 64 classes.
func (dv *Device) LoadForest(f FlatForest) (*DeviceForest, error) {
	depth, err := f.Validate()
	if err != nil {
		return nil, err
	}
	if f.NumClasses > maxGPUClasses {
		return nil, fmt.Errorf("%w: %d classes, the device kernel handles at most %d", ErrForest, f.NumClasses, maxGPUClasses)
	}
	// Pack nodes as struct rf_node {feature, threshold, left|leaf, right}.
	nodes := make([]byte, 0, 16*len(f.Feature))
	for i, ft := range f.Feature {
		left := f.Left[i]
		if ft < 0 {
			left = f.LeafValue[i]
		}
		nodes = binary.LittleEndian.AppendUint32(nodes, uint32(ft))
		nodes = binary.LittleEndian.AppendUint32(nodes, math.Float32bits(f.Threshold[i]))
		nodes = binary.LittleEndian.AppendUint32(nodes, uint32(left))
		nodes = binary.LittleEndian.AppendUint32(nodes, uint32(f.Right[i]))
	}
	df := &DeviceForest{dv: dv, numFeatures: f.NumFeatures, numClasses: f.NumClasses,
		trees: len(f.Roots), maxDepth: depth}
	dv.mu.Lock()
	defer dv.mu.Unlock()
	if dv.closed {
		return nil, ErrClosed
	}
	exit, err := dv.enter()
	if err != nil {
		return nil, err
	}
	defer exit()
	parts := []struct {
		dst *buffer
		src []byte
	}{
		{&df.nodes, nodes},
		{&df.proba, asBytes(f.Proba)},
		{&df.roots, asBytes(f.Roots)},
		{&df.classMap, f.Classes},
	}
	for _, p := range parts {
		if len(p.src) == 0 {
			continue
		}
		if *p.dst, err = dv.upload(p.src); err != nil {
			df.release()
			return nil, err
		}
	}
	return df, nil
}

func (df *DeviceForest) release() {
	for _, b := range []*buffer{&df.nodes, &df.proba, &df.roots, &df.classMap} {
		df.dv.pool.release(*b)
		*b = buffer{}
	}
}

// Close returns the forest's device memory to the pool.
func (df *DeviceForest) Close() error {
	df.mu.Lock()
	defer df.mu.Unlock()
	if !df.closed {
		df.closed = true
		df.release()
	}
	return nil
}

// Predict classifies len(X[0]) rows on the device like FlatForest.Predict
// (identical classes and confidences). X is column-major, X[feature][row];
// class and conf are optional (nil). Rows stream through in chunks.
func (df *DeviceForest) Predict(ctx context.Context, X [][]float32, class []uint8, conf []float32) error {
	df.mu.Lock() // keeps Close from freeing the model while it is used
	defer df.mu.Unlock()
	if df.closed {
		return ErrClosed
	}
	ref := FlatForest{NumFeatures: df.numFeatures}
	rows, err := ref.checkPredict(X, class, conf)
	if err != nil || rows == 0 {
		return err
	}
	nf := int64(df.numFeatures)
	inv := 1 / float32(df.trees)
	// Output chunk layout: conf plane (m float32) then class plane (m bytes).
	return df.dv.run(ctx, job{
		rows:   rows,
		inRow:  nf * 4,
		outRow: 5,
		fill: func(dst []byte, lo, hi int) {
			m := hi - lo
			for f, col := range X {
				copy(dst[f*m*4:(f+1)*m*4], asBytes(col[lo:hi]))
			}
		},
		kernel: func(s uintptr, in, out uint64, m int) error {
			var cls, cf uint64
			if class != nil {
				cls = out + uint64(m)*4
			}
			if conf != nil {
				cf = out
			}
			return df.dv.launch("rf_forest", m, s, df.nodes.ptr, df.proba.ptr, df.roots.ptr,
				int32(df.trees), int32(df.numClasses), int32(df.maxDepth), inv, df.classMap.ptr,
				in, int32(m), cls, cf)
		},
		drain: func(src []byte, lo, hi int) {
			m := hi - lo
			if conf != nil {
				copy(conf[lo:hi], fromBytes[float32](src[:m*4]))
			}
			if class != nil {
				copy(class[lo:hi], src[m*4:m*5])
			}
		},
	})
}

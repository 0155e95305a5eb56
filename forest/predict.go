package forest

import (
	"fmt"
	"math"
	"slices"
)

// Prediction works on bin indices, not floats: all thresholds of a feature,
// over all trees, are at most maxEdges distinct values (training never makes
// more, Load refuses more), so "x > threshold" equals "bin(x) > bin index of
// the threshold" where bin(x) is the number of thresholds below x. A block of
// rows is binned once (8 branch-free steps per value), then every tree is
// walked with 8-byte nodes and byte compares: half the memory of float nodes,
// so more of each tree stays in cache.
const maxEdges = 255

// bnode is the prediction form of a node: the row goes to child when
// bin(x[feat]) <= bin, else to child+1. Leaves have bin 255 (no bin is
// larger) and child pointing to themselves.
type bnode struct {
	child int32
	feat  uint16
	bin   uint8
	_     uint8
}

// compile builds the per-feature threshold tables and the bnode trees. It
// fails when a feature has more than maxEdges distinct thresholds or the
// model has more than 65536 features.
func (m *Model) compile() error {
	nf := len(m.features)
	if nf > 1<<16 {
		return fmt.Errorf("%w: %d features (max %d)", ErrFormat, nf, 1<<16)
	}
	thr := make([][]float32, nf)
	for _, t := range m.trees {
		for _, nd := range t.nodes {
			if nd.Leaf < 0 {
				thr[nd.Feature] = append(thr[nd.Feature], nd.Threshold)
			}
		}
	}
	m.edges = make([]*[maxEdges]float32, nf)
	for f, v := range thr {
		slices.Sort(v)
		v = slices.Compact(v)
		if len(v) > maxEdges {
			return fmt.Errorf("%w: feature %q has %d distinct thresholds (max %d)", ErrFormat, m.features[f], len(v), maxEdges)
		}
		e := new([maxEdges]float32)
		for i := range e {
			e[i] = float32(math.Inf(1))
		}
		copy(e[:], v)
		m.edges[f] = e
		thr[f] = v
	}
	for ti := range m.trees {
		t := &m.trees[ti]
		t.bnodes = make([]bnode, len(t.nodes))
		t.leafOf = make([]int32, len(t.nodes))
		for i, nd := range t.nodes {
			if nd.Leaf >= 0 {
				t.bnodes[i] = bnode{child: int32(i), bin: 255}
				t.leafOf[i] = nd.Leaf
				continue
			}
			b, _ := slices.BinarySearch(thr[nd.Feature], nd.Threshold)
			t.bnodes[i] = bnode{child: nd.Child, feat: uint16(nd.Feature), bin: uint8(b)}
		}
	}
	return nil
}

// binOf returns the number of thresholds in e strictly below x (0 for NaN),
// by a branch-free binary search.
func binOf(e *[maxEdges]float32, x float32) uint8 {
	pos := 0
	for s := 7; s >= 0; s-- {
		var b int
		if x > e[pos+1<<s-1] {
			b = 1
		}
		pos += b << s
	}
	return uint8(pos)
}

// predictBlock handles rows [r0,r1): it bins them row-major into buf, walks
// every tree over the whole block (the tree stays in cache) and sums leaf
// probabilities into acc.
func (m *Model) predictBlock(X [][]float32, r0, r1 int, buf []uint8, acc []float32, class []uint8, proba [][]float32, conf []float32) {
	nf, nk, n := len(m.features), len(m.classes), r1-r0
	for f, col := range X {
		e := m.edges[f]
		for r, v := range col[r0:r1] {
			buf[r*nf+f] = binOf(e, v)
		}
	}
	acc = acc[:n*nk]
	clear(acc)
	for ti := range m.trees {
		t := &m.trees[ti]
		nodes, leafOf, pr, depth := t.bnodes, t.leafOf, t.proba, t.depth
		r := 0
		for ; r+8 <= n; r += 8 {
			i0, i1, i2, i3, i4, i5, i6, i7 := walk8(nodes, buf[r*nf:], nf, depth)
			for j, l := range [8]int32{i0, i1, i2, i3, i4, i5, i6, i7} {
				addLeaf(acc[(r+j)*nk:], pr, leafOf[l], nk)
			}
		}
		for ; r < n; r++ {
			addLeaf(acc[r*nk:], pr, leafOf[walk(nodes, buf[r*nf:], depth)], nk)
		}
	}
	inv := 1 / float32(len(m.trees))
	for r := range n {
		a := acc[r*nk : r*nk+nk]
		best := 0
		for k := 1; k < nk; k++ {
			if a[k] > a[best] {
				best = k
			}
		}
		if class != nil {
			class[r0+r] = m.classes[best]
		}
		if conf != nil {
			conf[r0+r] = a[best] * inv
		}
		if proba != nil {
			for k := range nk {
				proba[k][r0+r] = a[k] * inv
			}
		}
	}
}

// walk returns the leaf reached by a binned row after depth steps (leaves
// loop on themselves). The comparison feeds an add, not a branch, so the
// compiler emits SETcc and the walk has no data-dependent branch.
func walk(nodes []bnode, row []uint8, depth int) int32 {
	var i int32
	for range depth {
		nd := &nodes[i]
		var right int32
		if row[nd.feat] > nd.bin {
			right = 1
		}
		i = nd.child + right
	}
	return i
}

// walk8 is walk for eight rows at once: eight independent dependency chains
// hide the latency of the node and row loads.
func walk8(nodes []bnode, rows []uint8, nf, depth int) (i0, i1, i2, i3, i4, i5, i6, i7 int32) {
	r0, r1, r2, r3, r4, r5, r6, r7 := rows[:nf], rows[nf:2*nf], rows[2*nf:3*nf], rows[3*nf:4*nf], rows[4*nf:5*nf], rows[5*nf:6*nf], rows[6*nf:7*nf], rows[7*nf:8*nf]
	for range depth {
		n0, n1, n2, n3 := &nodes[i0], &nodes[i1], &nodes[i2], &nodes[i3]
		n4, n5, n6, n7 := &nodes[i4], &nodes[i5], &nodes[i6], &nodes[i7]
		var b0, b1, b2, b3, b4, b5, b6, b7 int32
		if r0[n0.feat] > n0.bin {
			b0 = 1
		}
		if r1[n1.feat] > n1.bin {
			b1 = 1
		}
		if r2[n2.feat] > n2.bin {
			b2 = 1
		}
		if r3[n3.feat] > n3.bin {
			b3 = 1
		}
		if r4[n4.feat] > n4.bin {
			b4 = 1
		}
		if r5[n5.feat] > n5.bin {
			b5 = 1
		}
		if r6[n6.feat] > n6.bin {
			b6 = 1
		}
		if r7[n7.feat] > n7.bin {
			b7 = 1
		}
		i0, i1, i2, i3 = n0.child+b0, n1.child+b1, n2.child+b2, n3.child+b3
		i4, i5, i6, i7 = n4.child+b4, n5.child+b5, n6.child+b6, n7.child+b7
	}
	return
}

// addLeaf adds the probability row of leaf to acc[:nk].
func addLeaf(acc, proba []float32, leaf int32, nk int) {
	p := proba[int(leaf)*nk : int(leaf)*nk+nk]
	a := acc[:nk]
	for k, v := range p {
		a[k] += v
	}
}

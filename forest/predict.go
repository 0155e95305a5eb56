package forest

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Prediction works on bin indices, not floats: all thresholds of a feature,
// over all trees, are at most maxEdges distinct values (training never makes
// more, Load refuses more), so "x > threshold" equals "bin(x) > bin index of
// the threshold" where bin(x) is the number of thresholds below x. A block of
// rows is binned once, then every tree is walked over the whole block with
// byte compares: by the AVX-512 kernels of kernel_amd64.s on a packedForest
// when the CPU and the model allow, else by walk8 over bnodes.
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

// packedForest is the prediction form for the AVX-512 kernels (walk512,
// binColumn512), built by compile when the CPU has them and the model fits:
// at most packMaxFeatures features (a binned row is 8 bytes), 16 classes
// and trees of fewer than packMaxNodes nodes.
//
// A packed node is bin<<24 | feature<<21 | child (see packNode). Every
// distinct probability row of a tree gets a sink node after the tree's
// nodes, which loops on itself; a leaf goes to its row's sink whatever the
// bins (its bin is 255). A walk of depth+1 steps therefore ends on the sink
// of the row's leaf, and sink index + base is that leaf's row in proba.
// Nodes are renumbered breadth first (children stay adjacent), so the first
// seven levels are nodes 0-126, which walk512 keeps in registers (the top
// table, where leaves loop on themselves: a row that stops early stays
// there, and goes to its sink at the first gathered step).
type packedForest struct {
	edges []*[edgeTable]float32 // per feature, for binColumn512
	trees []packedTree
	width int       // floats per proba row: 8 or 16 (zero padded)
	proba []float32 // distinct leaf rows of every tree, width floats each
}

// packedTree is one tree of a packedForest.
type packedTree struct {
	nodes  []uint32         // nodes, then sinks
	top    [topNodes]uint32 // the first nodes, leaves looping on themselves
	top32  int              // first steps that only reach top[:32]
	top128 int              // next steps that only reach top[:128]
	steps  int              // depth+1
	base   int32            // proba row of sink i is i+base
}

const (
	packMaxNodes    = 1 << 21
	packMaxFeatures = 8
	packMaxClasses  = 16
	walkRows        = 80  // rows per walk512 round; blocks are padded to it
	topNodes        = 128 // nodes walk512 keeps in registers
	edgeTable       = 256 + 16
)

// packNode encodes a node for walk512; bin 255 (leaves, sinks) never sends a
// row to child+1.
func packNode(bin uint8, feat uint16, child int32) uint32 {
	return uint32(bin)<<24 | uint32(feat)<<21 | uint32(child)
}

// compile builds the per-feature threshold tables and the prediction form:
// a packedForest when the AVX-512 kernels run and the model fits them,
// bnodes and leafOf in every tree otherwise. It fails when a feature has
// more than maxEdges distinct thresholds or the model has more than 65536
// features.
func (m *Model) compile() error {
	nf, nk := len(m.features), len(m.classes)
	if nf > 1<<16 {
		return fmt.Errorf("%w: %d features (max %d)", ErrFormat, nf, 1<<16)
	}
	thr := make([][]float32, nf)
	packed := simdKernel && nf <= packMaxFeatures && nk <= packMaxClasses
	for _, t := range m.trees {
		packed = packed && len(t.nodes)+len(t.proba)/nk < packMaxNodes
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
	m.packed = nil
	if packed {
		m.packed = m.pack(thr)
	}
	for ti := range m.trees {
		t := &m.trees[ti]
		t.bnodes, t.leafOf = nil, nil
		if packed {
			continue
		}
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

// pack builds the packedForest; thr holds every feature's sorted distinct
// thresholds.
func (m *Model) pack(thr [][]float32) *packedForest {
	nk := len(m.classes)
	p := &packedForest{width: 8}
	if nk > 8 {
		p.width = 16
	}
	for _, e := range m.edges {
		pe := new([edgeTable]float32)
		copy(pe[:], e[:])
		pe[maxEdges] = float32(math.Inf(1)) // 256 edges, then every 16th
		for c := range 16 {
			pe[256+c] = pe[16*c+15]
		}
		p.edges = append(p.edges, pe)
	}
	for _, t := range m.trees {
		order, bfs := breadthFirst(t.nodes)
		pt := packedTree{steps: t.depth + 1, base: int32(len(p.proba)/p.width - len(order))}
		// Breadth first, the nodes of level l are among the first 2^(l+1)-1:
		// steps 1-5 read levels 0-4 (nodes 0-30), steps 6-7 levels 5-6
		// (nodes 0-126). At least the last step gathers, to reach the sinks.
		if bfs {
			pt.top32 = min(5, t.depth)
			pt.top128 = min(7, t.depth) - pt.top32
		} else {
			pt.top32 = min(1, t.depth)
		}
		newIdx := make([]int32, len(t.nodes))
		for i, old := range order {
			newIdx[old] = int32(i)
		}
		nodes := make([]uint32, len(order), len(order)+len(t.proba)/nk)
		sink := make(map[[packMaxClasses]uint32]int32) // distinct probability row (bits) -> sink
		for i, old := range order {
			nd := t.nodes[old]
			if nd.Leaf < 0 {
				b, _ := slices.BinarySearch(thr[nd.Feature], nd.Threshold)
				nodes[i] = packNode(uint8(b), uint16(nd.Feature), newIdx[nd.Child])
				continue
			}
			pr := t.proba[int(nd.Leaf)*nk : int(nd.Leaf)*nk+nk]
			var key [packMaxClasses]uint32
			for k, v := range pr {
				key[k] = math.Float32bits(v)
			}
			s, ok := sink[key]
			if !ok {
				s = int32(len(nodes))
				sink[key] = s
				nodes = append(nodes, packNode(255, 0, s))
				p.proba = append(p.proba, pr...)
				p.proba = append(p.proba, make([]float32, p.width-nk)...)
			}
			nodes[i] = packNode(255, 0, s)
		}
		for i := range min(len(order), topNodes) {
			pt.top[i] = nodes[i]
			if t.nodes[order[i]].Leaf >= 0 {
				pt.top[i] = packNode(255, 0, int32(i)) // stays until a gathered step
			}
		}
		pt.nodes = nodes
		p.trees = append(p.trees, pt)
	}
	return p
}

// breadthFirst returns the nodes reachable from the root in breadth-first
// order, each pair of children together (left first), and true. A loaded
// model may share children between parents; when a shared pair cannot stay
// adjacent, it returns the stored order and false.
func breadthFirst(nodes []node) ([]int32, bool) {
	pos := make([]int32, len(nodes)) // position in order + 1; 0: not yet
	order := append(make([]int32, 0, len(nodes)), 0)
	pos[0] = 1
	for q := 0; q < len(order); q++ {
		nd := nodes[order[q]]
		if nd.Leaf < 0 {
			c := nd.Child
			switch {
			case pos[c] == 0 && pos[c+1] == 0:
				order = append(order, c, c+1)
				pos[c], pos[c+1] = int32(len(order)-1), int32(len(order))
			case pos[c] == 0 || pos[c+1] != pos[c]+1:
				return identity(len(nodes)), false
			}
		}
	}
	return order, true
}

// identity returns 0, 1, ..., n-1.
func identity(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// binOf returns the number of thresholds in e strictly below x (0 for NaN),
// by a branch-free binary search (binColumn512 is its AVX-512 form).
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

// predictRows runs predictBlock over rows [0,rows) on the model's workers.
// Blocks are claimed one at a time and sized so that every worker gets
// several: the last ones to finish leave little idle time.
func (m *Model) predictRows(X [][]float32, rows int, class []uint8, proba [][]float32, conf []float32) {
	workers := m.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	blockRows := min(maxBlockRows, max(minBlockRows, (rows+4*workers-1)/(4*workers)))
	blocks := (rows + blockRows - 1) / blockRows
	workers = min(workers, blocks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			s := m.newScratch(min(rows, blockRows))
			for {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				r0 := b * blockRows
				m.predictBlock(X, r0, min(rows, r0+blockRows), s, class, proba, conf)
			}
		})
	}
	wg.Wait()
}

// blockScratch is a worker's memory for predictBlock.
type blockScratch struct {
	bins   []uint8         // binned rows, row-major, 8 bytes (packed) or nf bytes apart
	leaves [walkRows]int32 // packed: walk512's scratch (sink reached by each row)
	acc    []float32       // rows × classes (packed: × width) sums of leaf probabilities
}

// newScratch allocates a worker's memory for blocks of up to n rows.
func (m *Model) newScratch(n int) *blockScratch {
	nf, nk := len(m.features), len(m.classes)
	if p := m.packed; p != nil {
		np := (n + walkRows - 1) / walkRows * walkRows
		return &blockScratch{bins: make([]uint8, np*packMaxFeatures), acc: make([]float32, np*p.width)}
	}
	return &blockScratch{bins: make([]uint8, n*nf), acc: make([]float32, n*nk)}
}

// predictBlock handles rows [r0,r1): it bins them row-major, sums their
// leaf probabilities over the trees, in tree order, and writes the outputs.
func (m *Model) predictBlock(X [][]float32, r0, r1 int, s *blockScratch, class []uint8, proba [][]float32, conf []float32) {
	nf, nk, n := len(m.features), len(m.classes), r1-r0
	stride := nf
	if m.packed != nil {
		stride = packMaxFeatures
	}
	buf := s.bins
	for f, col := range X {
		if m.packed != nil {
			binColumn512(&col[r0], n, m.packed.edges[f], &buf[f], stride)
			continue
		}
		e := m.edges[f]
		for r, v := range col[r0:r1] {
			buf[r*stride+f] = binOf(e, v)
		}
	}
	acc, width := s.acc, nk
	if p := m.packed; p != nil {
		width = p.width
		np := (n + walkRows - 1) / walkRows * walkRows
		clear(buf[n*stride : np*stride]) // padding rows: walked, not used
		clear(acc[:np*width])
		for ti := range p.trees {
			t := &p.trees[ti]
			walk512(&t.nodes[0], &t.top, &buf[0], np, t.steps, t.top32, t.top128, t.base, &p.proba[0], width, &acc[0], &s.leaves)
		}
	} else {
		m.sumLeaves(buf, n, acc[:n*nk])
	}
	inv := 1 / float32(len(m.trees))
	for r := range n {
		a := acc[r*width : r*width+nk]
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

// sumLeaves is the portable path: it walks every tree over the n binned
// rows of buf (the tree stays in cache) and adds the leaf probabilities to
// acc, tree after tree.
func (m *Model) sumLeaves(buf []uint8, n int, acc []float32) {
	nf, nk := len(m.features), len(m.classes)
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

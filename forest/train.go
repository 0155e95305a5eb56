package forest

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// Dataset is a table of samples: column-major float32 features and uint8
// class codes.
type Dataset struct {
	Features []string    // feature names, one per column of X
	X        [][]float32 // X[f][i]: feature f of sample i
	Y        []uint8     // class code of sample i
}

// Len returns the number of samples.
func (d Dataset) Len() int { return len(d.Y) }

func (d Dataset) validate() error {
	if len(d.X) == 0 || len(d.X) != len(d.Features) {
		return fmt.Errorf("%w: %d feature columns for %d feature names", ErrDataset, len(d.X), len(d.Features))
	}
	if len(d.X) > 1<<16 {
		return fmt.Errorf("%w: %d features (max %d)", ErrDataset, len(d.X), 1<<16)
	}
	if len(d.Y) == 0 || int64(len(d.Y)) >= math.MaxInt32 {
		return fmt.Errorf("%w: %d samples (want 1..%d)", ErrDataset, len(d.Y), math.MaxInt32-1)
	}
	seen := make(map[string]bool, len(d.Features))
	for f, c := range d.X {
		if len(c) != len(d.Y) {
			return fmt.Errorf("%w: feature %q has %d values for %d labels", ErrDataset, d.Features[f], len(c), len(d.Y))
		}
		if seen[d.Features[f]] {
			return fmt.Errorf("%w: duplicate feature name %q", ErrDataset, d.Features[f])
		}
		seen[d.Features[f]] = true
	}
	return nil
}

// builder holds what all trees share: the binned feature matrix and labels.
type builder struct {
	bins   [][]uint8   // bins[f][i]
	edges  [][]float32 // thresholds per feature; len(edges[f])+1 bins
	y      []uint8     // class index per sample
	cw     []float64   // weight per class index
	k      int         // classes
	mtry   int
	p      Params
	maxBin int
}

// Train fits a random forest on d. Trees are built in parallel (p.Workers
// goroutines), each from its own random stream derived from p.Seed and the
// tree index, so the model does not depend on scheduling. Training stops with
// ctx's error if ctx is cancelled.
func Train(ctx context.Context, d Dataset, p Params) (*Model, error) {
	p, err := p.normalize()
	if err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	nf, n := len(d.X), len(d.Y)
	// classes: sorted distinct codes
	var count [256]int
	for _, c := range d.Y {
		count[c]++
	}
	var classes []uint8
	var index [256]uint8
	var classCounts []int
	for c, k := range count {
		if k > 0 {
			index[c] = uint8(len(classes))
			classes = append(classes, uint8(c))
			classCounts = append(classCounts, k)
		}
	}
	b := &builder{k: len(classes), p: p, y: make([]uint8, n), cw: make([]float64, len(classes))}
	for i, c := range d.Y {
		b.y[i] = index[c]
	}
	for k, c := range classCounts {
		b.cw[k] = 1
		if p.ClassWeight == "balanced" {
			b.cw[k] = float64(n) / (float64(len(classes)) * float64(c))
		}
	}
	if b.mtry, err = p.mtry(nf); err != nil {
		return nil, err
	}
	// bin edges and the binned matrix, in parallel over features
	b.edges = make([][]float32, nf)
	b.bins = make([][]uint8, nf)
	parallelFor(nf, p.Workers, func(f int) {
		b.edges[f] = binEdges(d.X[f], p.Bins)
		b.bins[f] = make([]uint8, n)
		binColumn(b.bins[f], d.X[f], b.edges[f])
	})
	for _, e := range b.edges {
		b.maxBin = max(b.maxBin, len(e)+1)
	}

	trees := make([]tree, p.Trees)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(p.Workers, p.Trees) {
		wg.Go(func() {
			sc := b.newScratch(n)
			for ctx.Err() == nil {
				t := int(next.Add(1) - 1)
				if t >= p.Trees {
					return
				}
				trees[t] = b.buildTree(ctx, t, sc)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("forest: training cancelled: %w", err)
	}
	m := &Model{features: slices.Clone(d.Features), classes: classes, params: p, trees: trees}
	m.params.Workers = 0
	m.info = Info{Samples: n, ClassCounts: classCounts}
	for _, t := range trees {
		m.info.Nodes += len(t.nodes)
		m.info.Leaves += len(t.proba) / b.k
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	return m, nil
}

// parallelFor runs fn(0..n-1) on up to workers goroutines.
func parallelFor(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// scratch is one worker's reusable memory; idx, w and yc are parallel
// per-position arrays (sample index, weight, class index) partitioned in
// place as the tree grows.
type scratch struct {
	idx      []uint32
	w        []float32
	yc       []uint8
	draws    []uint32
	hist     []float64 // bin*k + class
	cnt      []int32   // samples per bin
	touched  []int     // non-empty bins of the current histogram
	feats    []int
	left     []float64
	bestLeft []float64
	cur      []float64
	sums     []float64 // class sums of the stacked nodes, k per stack slot
	stack    []item
}

type item struct{ lo, hi, node, depth int }

func (b *builder) newScratch(n int) *scratch {
	return &scratch{
		idx: make([]uint32, 0, n), w: make([]float32, 0, n), yc: make([]uint8, 0, n), draws: make([]uint32, n),
		hist: make([]float64, b.maxBin*b.k), cnt: make([]int32, b.maxBin), touched: make([]int, 0, b.maxBin),
		feats: make([]int, len(b.bins)), left: make([]float64, b.k), bestLeft: make([]float64, b.k), cur: make([]float64, b.k),
	}
}

// buildTree grows tree t depth-first.
func (b *builder) buildTree(ctx context.Context, t int, sc *scratch) tree {
	rng := rand.New(rand.NewPCG(b.p.Seed, uint64(t)))
	n, k := len(b.y), b.k
	sc.idx, sc.w, sc.yc = sc.idx[:0], sc.w[:0], sc.yc[:0]
	if b.p.Bootstrap {
		clear(sc.draws)
		for range n {
			sc.draws[rng.IntN(n)]++
		}
	}
	for i := range n {
		c := uint32(1)
		if b.p.Bootstrap {
			c = sc.draws[i]
		}
		if c > 0 {
			sc.idx = append(sc.idx, uint32(i))
			sc.w = append(sc.w, float32(float64(c)*b.cw[b.y[i]]))
			sc.yc = append(sc.yc, b.y[i])
		}
	}
	var tr tree
	tr.nodes = append(tr.nodes, node{})
	sc.stack = append(sc.stack[:0], item{lo: 0, hi: len(sc.idx)})
	sc.sums = slices.Grow(sc.sums[:0], k)[:k]
	clear(sc.sums)
	for i, c := range sc.yc {
		sc.sums[c] += float64(sc.w[i])
	}
	cur := sc.cur
	for len(sc.stack) > 0 {
		if len(tr.nodes)&0xfff == 0 && ctx.Err() != nil {
			return tr
		}
		it := sc.stack[len(sc.stack)-1]
		sc.stack = sc.stack[:len(sc.stack)-1]
		slot := len(sc.stack)
		copy(cur, sc.sums[slot*k:slot*k+k])
		var total float64
		nonzero := 0
		for _, v := range cur {
			total += v
			if v > 0 {
				nonzero++
			}
		}
		n := it.hi - it.lo
		f, sb := -1, 0
		if (b.p.MaxDepth == 0 || it.depth < b.p.MaxDepth) && n >= 2 && n >= 2*b.p.MinSamplesLeaf && nonzero > 1 {
			f, sb = b.findSplit(sc, it.lo, it.hi, cur, total, rng)
		}
		if f < 0 { // leaf
			tr.nodes[it.node] = node{Threshold: float32(math.Inf(1)), Child: int32(it.node), Leaf: int32(len(tr.proba) / k)}
			for _, v := range cur {
				tr.proba = append(tr.proba, float32(v/total))
			}
			tr.depth = max(tr.depth, it.depth)
			continue
		}
		mid := b.partition(sc, it.lo, it.hi, f, sb)
		child := len(tr.nodes)
		tr.nodes = append(tr.nodes, node{}, node{})
		tr.nodes[it.node] = node{Feature: uint32(f), Threshold: b.edges[f][sb], Child: int32(child), Leaf: -1}
		// push right then left (left is grown first); slot and slot+1 hold their class sums
		sc.sums = slices.Grow(sc.sums[:slot*k], 2*k)[:slot*k+2*k]
		r, l := sc.sums[slot*k:slot*k+k], sc.sums[slot*k+k:slot*k+2*k]
		for c := range k {
			l[c] = sc.bestLeft[c]
			r[c] = cur[c] - sc.bestLeft[c]
		}
		sc.stack = append(sc.stack,
			item{lo: mid, hi: it.hi, node: child + 1, depth: it.depth + 1},
			item{lo: it.lo, hi: mid, node: child, depth: it.depth + 1})
	}
	return tr
}

// findSplit returns the best (feature, split bin) for positions [lo,hi), or
// feature -1. Features are drawn without replacement until mtry features
// that are not constant in the node have been evaluated; the split maximises
// the Gini proxy sum(L²)/W_L + sum(R²)/W_R, with at least MinSamplesLeaf
// samples on each side. The best left class sums are left in sc.bestLeft.
func (b *builder) findSplit(sc *scratch, lo, hi int, cur []float64, total float64, rng *rand.Rand) (int, int) {
	k, nf, msl := b.k, len(b.bins), int32(b.p.MinSamplesLeaf)
	n := int32(hi - lo)
	for i := range sc.feats {
		sc.feats[i] = i
	}
	bestF, bestBin, best := -1, 0, math.Inf(-1)
	idx, w, yc := sc.idx[lo:hi], sc.w[lo:hi], sc.yc[lo:hi]
	visited := 0
	for j := 0; j < nf && visited < b.mtry; j++ {
		r := j + rng.IntN(nf-j)
		sc.feats[j], sc.feats[r] = sc.feats[r], sc.feats[j]
		f := sc.feats[j]
		if len(b.edges[f]) == 0 {
			continue
		}
		col := b.bins[f]
		hist, cnt, touched := sc.hist, sc.cnt, sc.touched[:0]
		if nb := len(b.edges[f]) + 1; int(n) >= 4*nb {
			// big node: plain histogram, then the non-empty bins in order
			for i, s := range idx {
				bin := col[s]
				cnt[bin]++
				hist[int(bin)*k+int(yc[i])] += float64(w[i])
			}
			for bin, c := range cnt[:nb] {
				if c > 0 {
					touched = append(touched, bin)
				}
			}
		} else {
			// small node: a bitmap of the touched bins gives them in order
			var mask [4]uint64
			for i, s := range idx {
				bin := col[s]
				mask[bin>>6] |= 1 << (bin & 63)
				cnt[bin]++
				hist[int(bin)*k+int(yc[i])] += float64(w[i])
			}
			for wi, m := range mask {
				for ; m != 0; m &= m - 1 {
					touched = append(touched, wi<<6|bits.TrailingZeros64(m))
				}
			}
		}
		if len(touched) > 1 {
			visited++
			left := sc.left
			clear(left)
			var wl float64
			var nl int32
			for t := 0; t+1 < len(touched); t++ {
				bin := touched[t]
				for c, v := range hist[bin*k : bin*k+k] {
					left[c] += v
					wl += v
				}
				nl += cnt[bin]
				if nl < msl {
					continue
				}
				if n-nl < msl {
					break
				}
				wr := total - wl
				if wl <= 0 || wr <= 0 {
					continue
				}
				var sl, sr float64
				for c, l := range left {
					r := cur[c] - l
					sl += l * l
					sr += r * r
				}
				if proxy := sl/wl + sr/wr; proxy > best {
					best, bestF = proxy, f
					bestBin = (bin + touched[t+1] - 1) / 2 // middle edge between the two non-empty bins
					copy(sc.bestLeft, left)
				}
			}
		}
		for _, bin := range touched {
			cnt[bin] = 0
			clear(hist[bin*k : bin*k+k])
		}
		sc.touched = touched
	}
	return bestF, bestBin
}

// partition reorders positions [lo,hi) so that samples with bin <= sb of
// feature f come first; it returns the first position of the right part.
func (b *builder) partition(sc *scratch, lo, hi, f, sb int) int {
	col := b.bins[f]
	i, j := lo, hi
	for i < j {
		if int(col[sc.idx[i]]) <= sb {
			i++
			continue
		}
		j--
		sc.idx[i], sc.idx[j] = sc.idx[j], sc.idx[i]
		sc.w[i], sc.w[j] = sc.w[j], sc.w[i]
		sc.yc[i], sc.yc[j] = sc.yc[j], sc.yc[i]
	}
	return i
}

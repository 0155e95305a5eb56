package forest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refPredict is the plain definition of Predict: every row walks the float
// nodes of every tree (x <= threshold goes to Child, else Child+1; NaN goes
// left), leaf probability rows are summed in tree order, divided by the tree
// count, and the class is the first maximum.
func refPredict(m *Model, X [][]float32) (class []uint8, proba [][]float32, conf []float32) {
	nk, rows := len(m.classes), len(X[0])
	class, conf = make([]uint8, rows), make([]float32, rows)
	proba = make([][]float32, nk)
	for k := range proba {
		proba[k] = make([]float32, rows)
	}
	acc := make([]float32, nk)
	inv := 1 / float32(len(m.trees))
	for r := range rows {
		clear(acc)
		for _, t := range m.trees {
			i := 0
			for t.nodes[i].Leaf < 0 {
				nd := t.nodes[i]
				i = int(nd.Child)
				if X[nd.Feature][r] > nd.Threshold {
					i++
				}
			}
			for k := range nk {
				acc[k] += t.proba[int(t.nodes[i].Leaf)*nk+k]
			}
		}
		best := 0
		for k := range nk {
			if acc[k] > acc[best] {
				best = k
			}
			proba[k][r] = acc[k] * inv
		}
		class[r], conf[r] = m.classes[best], acc[best]*inv
	}
	return class, proba, conf
}

// randomModel builds a forest of random trees directly (not trained): nf
// features, nk classes, thresholds from a small pool per feature (so rows
// hit them exactly), leaf probabilities in quarters (so class sums tie).
func randomModel(r *rand.Rand, nf, nk, trees, maxDepth int) *Model {
	m := &Model{}
	for f := range nf {
		m.features = append(m.features, fmt.Sprint("f", f))
	}
	for k := range nk {
		m.classes = append(m.classes, uint8(3*k+1))
	}
	pool := make([][]float32, nf)
	for f := range pool {
		for range 1 + r.IntN(40) {
			pool[f] = append(pool[f], float32(r.IntN(200)-100)/8)
		}
	}
	for range trees {
		var t tree
		type item struct{ node, depth int }
		t.nodes = []node{{}}
		stack := []item{{0, 0}}
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if it.depth == maxDepth || (it.depth > 0 && r.IntN(4) == 0) {
				t.nodes[it.node] = node{Threshold: float32(math.Inf(1)), Child: int32(it.node), Leaf: int32(len(t.proba) / nk)}
				q := make([]int, nk)
				for range 4 {
					q[r.IntN(nk)]++
				}
				for _, c := range q {
					t.proba = append(t.proba, float32(c)/4)
				}
				t.depth = max(t.depth, it.depth)
				continue
			}
			f := r.IntN(nf)
			c := len(t.nodes)
			t.nodes = append(t.nodes, node{}, node{})
			t.nodes[it.node] = node{Feature: uint32(f), Threshold: pool[f][r.IntN(len(pool[f]))], Child: int32(c), Leaf: -1}
			stack = append(stack, item{c + 1, it.depth + 1}, item{c, it.depth + 1})
		}
		m.trees = append(m.trees, t)
	}
	return m
}

// edgeRows makes rows whose values are often exactly a threshold, just
// beside one, NaN or ±Inf.
func edgeRows(r *rand.Rand, m *Model, rows int) [][]float32 {
	nf := len(m.features)
	thr := make([][]float32, nf)
	for _, t := range m.trees {
		for _, nd := range t.nodes {
			if nd.Leaf < 0 {
				thr[nd.Feature] = append(thr[nd.Feature], nd.Threshold)
			}
		}
	}
	X := make([][]float32, nf)
	for f := range X {
		X[f] = make([]float32, rows)
		for i := range X[f] {
			v := float32(r.NormFloat64() * 10)
			switch c := r.IntN(20); {
			case c < 8 && len(thr[f]) > 0:
				v = thr[f][r.IntN(len(thr[f]))]
				if c >= 4 {
					v = math.Nextafter32(v, float32(math.Inf(2*(c%2)-1)))
				}
			case c == 8:
				v = float32(math.NaN())
			case c == 9:
				v = float32(math.Inf(1 - 2*r.IntN(2)))
			}
			X[f][i] = v
		}
	}
	return X
}

// kernels runs fn with the AVX-512 kernel (when the CPU has it) and with the
// portable walk, recompiling the model for each.
func kernels(t *testing.T, m *Model, fn func(t *testing.T)) {
	defer func(s bool) { simdKernel = s; m.compile() }(simdKernel)
	for _, simd := range []bool{true, false} {
		if simd && !simdKernel {
			t.Log("no AVX-512 on this CPU: portable walk only")
			continue
		}
		simdKernel = simd
		if err := m.compile(); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("simd=%v,packed=%v", simd, m.packed != nil), fn)
	}
}

func samePrediction(t *testing.T, m *Model, X [][]float32) {
	wc, wp, wf := refPredict(m, X)
	rows, nk := len(X[0]), len(m.classes)
	kernels(t, m, func(t *testing.T) {
		for _, workers := range []int{1, 3} {
			m.SetWorkers(workers)
			gc, gf := make([]uint8, rows), make([]float32, rows)
			gp := make([][]float32, nk)
			for k := range gp {
				gp[k] = make([]float32, rows)
			}
			if err := m.Predict(X, gc, gp, gf); err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				if gc[i] != wc[i] || math.Float32bits(gf[i]) != math.Float32bits(wf[i]) {
					t.Fatalf("workers %d row %d: class %d conf %v, reference %d %v", workers, i, gc[i], gf[i], wc[i], wf[i])
				}
				for k := range nk {
					if math.Float32bits(gp[k][i]) != math.Float32bits(wp[k][i]) {
						t.Fatalf("workers %d row %d class %d: proba %v, reference %v", workers, i, k, gp[k][i], wp[k][i])
					}
				}
			}
		}
	})
}

// TestPredictMatchesReference compares Predict bit for bit with refPredict
// on random forests (all feature and class counts around the packed
// kernel's limits, single-leaf trees included) and on trained ones.
func TestPredictMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ nf, nk, trees, depth, rows int }{
		{1, 2, 3, 0, 100}, {1, 2, 7, 3, 1000}, {3, 5, 9, 6, 3000}, {6, 7, 11, 12, 70001},
		{8, 16, 5, 10, 5000}, {5, 11, 6, 12, 5000}, {9, 3, 4, 8, 2000}, {4, 17, 4, 8, 2000}, {2, 1, 3, 5, 500},
	} {
		t.Run(fmt.Sprintf("random-nf%d-nk%d-depth%d", c.nf, c.nk, c.depth), func(t *testing.T) {
			m := randomModel(r, c.nf, c.nk, c.trees, c.depth)
			samePrediction(t, m, edgeRows(r, m, c.rows))
		})
	}
	t.Run("trained", func(t *testing.T) {
		codes := []uint8{10, 20, 30, 40, 50, 60, 70}
		d, _ := gen(20000, 6, 8, 0.2, codes, func(x []float32) uint8 {
			return codes[int(math.Abs(float64(4*x[0]+x[1]*x[2])))%7]
		})
		for i := range d.X[3] { // few distinct values: many exact ties with thresholds
			d.X[3][i] = float32(math.Round(float64(d.X[3][i] * 4)))
		}
		p := DefaultParams()
		p.Trees, p.MaxDepth, p.Seed = 12, 14, 9
		m, err := Train(context.Background(), d, p)
		if err != nil {
			t.Fatal(err)
		}
		samePrediction(t, m, edgeRows(r, m, 66000))
	})
}

// TestPredictSharedNodes: a loaded model may share children between
// parents (the format only asks children to come after their parents),
// a whole pair or overlapping pairs.
func TestPredictSharedNodes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	leaf := func(i, l int32) node { return node{Threshold: float32(math.Inf(1)), Child: i, Leaf: l} }
	for name, nodes := range map[string][]node{
		"shared-pair": {{Feature: 0, Threshold: 0, Child: 1, Leaf: -1}, {Feature: 1, Threshold: 1, Child: 3, Leaf: -1},
			{Feature: 0, Threshold: 2, Child: 3, Leaf: -1}, leaf(3, 0), leaf(4, 1)},
		"overlapping-pairs": {{Feature: 0, Threshold: 0, Child: 1, Leaf: -1}, {Feature: 1, Threshold: 1, Child: 3, Leaf: -1},
			{Feature: 0, Threshold: 2, Child: 4, Leaf: -1}, leaf(3, 0), leaf(4, 1), leaf(5, 2)},
	} {
		t.Run(name, func(t *testing.T) {
			m := randomModel(r, 2, 3, 2, 3)
			m.trees[1] = tree{nodes: nodes, depth: 2, proba: []float32{1, 0, 0, 0, 0.5, 0.5, 0.25, 0.75, 0}}
			samePrediction(t, m, edgeRows(r, m, 3000))
		})
	}
}

// TestBinColumn512 checks the AVX-512 binning against binOf on every
// threshold, its neighbours, zeros, infinities and NaN, for tables of 0 to
// 255 thresholds.
func TestBinColumn512(t *testing.T) {
	if !simdKernel {
		t.Skip("no AVX-512 on this CPU")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, ne := range []int{0, 1, 2, 15, 16, 17, 100, 254, 255} {
		m := &Model{features: []string{"x"}, classes: []uint8{1, 2}}
		tr := tree{nodes: []node{{Threshold: float32(math.Inf(1)), Leaf: 0}}, proba: []float32{1, 0}}
		seen := map[float32]bool{}
		for len(seen) < ne {
			v := float32(r.NormFloat64() * 100)
			if len(seen) == 0 {
				v = 0
			}
			if !seen[v] {
				seen[v] = true
				c := int32(len(tr.nodes))
				tr.nodes[len(tr.nodes)-1] = node{Threshold: v, Child: c, Leaf: -1}
				tr.nodes = append(tr.nodes, node{Threshold: float32(math.Inf(1)), Child: c, Leaf: int32(len(tr.proba) / 2)}, node{})
				tr.proba = append(tr.proba, 0, 1)
			}
		}
		last := int32(len(tr.nodes) - 1)
		tr.nodes[last] = node{Threshold: float32(math.Inf(1)), Child: last, Leaf: int32(len(tr.proba) / 2)}
		tr.proba = append(tr.proba, 1, 0)
		m.trees = []tree{tr}
		if err := m.compile(); err != nil {
			t.Fatal(err)
		}
		if m.packed == nil {
			t.Fatal("model not packed")
		}
		inf := float32(math.Inf(1))
		col := []float32{0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}
		for v := range seen {
			col = append(col, v, math.Nextafter32(v, inf), math.Nextafter32(v, -inf))
		}
		out := make([]uint8, 3*len(col))
		binColumn512(&col[0], len(col), m.packed.edges[0], &out[1], 3)
		for i, v := range col {
			if got, want := out[3*i+1], binOf(m.edges[0], v); got != want {
				t.Fatalf("%d thresholds: bin(%v) = %d, binOf %d", ne, v, got, want)
			}
		}
	}
}

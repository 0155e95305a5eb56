package operators

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// bottomK keeps exactly the k smallest priorities (with their rows),
// whatever the arrival order, through several compactions.
func TestBottomKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct{ n, k int }{{10, 20}, {1000, 10}, {5000, 333}, {20000, 1}, {20000, 4000}} {
		prio := make([]uint64, tc.n)
		for i := range prio {
			prio[i] = r.Uint64() >> uint(r.IntN(60)) // many small values, some ties
		}
		X := [][]float32{make([]float32, tc.n), make([]float32, tc.n)}
		for i := range tc.n {
			X[0][i], X[1][i] = float32(i), float32(-i)
		}
		h := newBottomK(tc.k, 2)
		for _, i := range r.Perm(tc.n) {
			h.push(prio[i], uint8(i), X, i)
		}
		got := h.rows()
		want := slices.Clone(prio)
		slices.Sort(want)
		want = want[:min(tc.k, tc.n)]
		if len(got) != len(want) {
			t.Fatalf("n=%d k=%d: %d rows, want %d", tc.n, tc.k, len(got), len(want))
		}
		for j, row := range got {
			i := int(row.x[0])
			if row.prio != want[j] || prio[i] != row.prio || row.x[1] != -float32(i) || row.y != uint8(i) {
				t.Fatalf("n=%d k=%d: row %d = %+v, want priority %d with its own features", tc.n, tc.k, j, row, want[j])
			}
		}
	}
}

func TestKthSmallest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		a := make([]uint64, 1+r.IntN(300))
		for i := range a {
			a[i] = uint64(r.IntN(50))
		}
		k := r.IntN(len(a))
		s := slices.Clone(a)
		slices.Sort(s)
		if got := kthSmallest(slices.Clone(a), k); got != s[k] {
			t.Fatalf("kthSmallest(%v, %d) = %d, want %d", a, k, got, s[k])
		}
	}
}

package forest

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkTmpDepthStats(b *testing.B) {
	d := loadBench(b)
	m, _ := Train(context.Background(), d.dataset(b, 200_000), benchParams(50))
	n := 1 << 18
	var fixed, maxd, sum float64
	tops := map[int]int{}
	for ti, t := range m.trees {
		tops[m.packed.trees[ti].top]++
		for r0 := 0; r0 < n; r0 += 96 {
			mx := 0
			for r := r0; r < r0+96; r++ {
				i, dep := 0, 0
				for t.nodes[i].Leaf < 0 {
					nd := t.nodes[i]
					i = int(nd.Child)
					if d.scene[nd.Feature][r+1<<21] > nd.Threshold {
						i++
					}
					dep++
				}
				mx = max(mx, dep)
				sum += float64(dep + 1)
			}
			maxd += float64(mx+1) * 96
			fixed += float64(t.depth+1) * 96
		}
	}
	fmt.Println("fixed", fixed/float64(n*50), "max-per-round", maxd/float64(n*50), "mean", sum/float64(n*50), "tops", tops)
}

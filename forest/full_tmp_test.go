package forest

import (
	"context"
	"math"
	"testing"
)

func BenchmarkTmpFullScene(b *testing.B) {
	d := loadBench(b)
	m, err := Train(context.Background(), d.dataset(b, 200_000), benchParams(50))
	if err != nil {
		b.Fatal(err)
	}
	if m.packed == nil {
		b.Fatal("not packed")
	}
	n := len(d.label)
	nk := len(m.classes)
	gc, gf := make([]uint8, n), make([]float32, n)
	gp := make([][]float32, nk)
	for k := range gp {
		gp[k] = make([]float32, n)
	}
	if err := m.Predict(d.scene, gc, gp, gf); err != nil {
		b.Fatal(err)
	}
	wc, wp, wf := refPredict(m, d.scene)
	bad := 0
	for i := range n {
		if gc[i] != wc[i] || math.Float32bits(gf[i]) != math.Float32bits(wf[i]) {
			bad++
		}
		for k := range nk {
			if math.Float32bits(gp[k][i]) != math.Float32bits(wp[k][i]) {
				bad++
			}
		}
	}
	b.Logf("rows %d classes %d mismatches %d", n, nk, bad)
}

package forest

import (
	"context"
	"testing"
	"time"
)

func BenchmarkTmpPredict1W(b *testing.B) {
	d := loadBench(b)
	modelOnce.Do(func() {
		var err error
		model200k, err = Train(context.Background(), d.dataset(b, 200_000), benchParams(50))
		if err != nil {
			b.Fatal(err)
		}
	})
	n := 1 << 18
	X := make([][]float32, len(d.scene))
	for f := range X {
		X[f] = d.scene[f][1<<21 : 1<<21+n]
	}
	class := make([]uint8, n)
	model200k.SetWorkers(1)
	defer model200k.SetWorkers(0)
	best := time.Hour
	for b.Loop() {
		for range 15 {
			t0 := time.Now()
			if err := model200k.Predict(X, class, nil, nil); err != nil {
				b.Fatal(err)
			}
			best = min(best, time.Since(t0))
		}
	}
	b.ReportMetric(best.Seconds()*1e9/float64(n)/50, "min-ns/tree-row")
}

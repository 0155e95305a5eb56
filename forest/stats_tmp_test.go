package forest

import (
	"context"
	"syscall"
	"testing"
)

func cpuNow() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func BenchmarkTmpPredict1W(b *testing.B) {
	d := loadBench(b)
	modelOnce.Do(func() {
		var err error
		model200k, err = Train(context.Background(), d.dataset(b, 200_000), benchParams(50))
		if err != nil {
			b.Fatal(err)
		}
	})
	n := 1 << 20
	X := make([][]float32, len(d.scene))
	for f := range X {
		X[f] = d.scene[f][1<<21 : 1<<21+n]
	}
	class := make([]uint8, n)
	model200k.SetWorkers(1)
	defer model200k.SetWorkers(0)
	b.ResetTimer()
	c0 := cpuNow()
	for b.Loop() {
		if err := model200k.Predict(X, class, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(n)/50, "ns/tree-row")
	b.ReportMetric((cpuNow()-c0)*1e9/float64(b.N)/float64(n)/50, "cpu-ns/tree-row")
}

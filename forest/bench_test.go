package forest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Benchmark data: with RF_BENCH_DIR set to the output of
// testdata/sklearn_bench.py, the benchmarks use the same scene, features and
// training samples as the scikit-learn timings; otherwise a synthetic
// 6-feature, 7-class data set generated here.
type benchData struct {
	features []string
	scene    [][]float32 // full scene, column-major
	label    []uint8
	pick     []uint32 // training sample indices into scene
}

var (
	benchOnce sync.Once
	bench     benchData
	benchErr  error
	modelOnce sync.Once
	model200k *Model
)

func loadBench(b *testing.B) *benchData {
	benchOnce.Do(func() {
		dir := os.Getenv("RF_BENCH_DIR")
		if dir == "" {
			bench = synthBench(2048*2048, 1_000_000)
			return
		}
		var meta struct {
			Height, Width int
			Features      []string
		}
		raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err == nil {
			err = json.Unmarshal(raw, &meta)
		}
		if err != nil {
			benchErr = err
			return
		}
		n := meta.Height * meta.Width
		f32, err1 := os.ReadFile(filepath.Join(dir, "features.f32"))
		lab, err2 := os.ReadFile(filepath.Join(dir, "label.u8"))
		pk, err3 := os.ReadFile(filepath.Join(dir, "pick.u32"))
		if err1 != nil || err2 != nil || err3 != nil || len(f32) != 4*n*len(meta.Features) || len(lab) != n {
			benchErr = errorsJoin(err1, err2, err3)
			return
		}
		bench = benchData{features: meta.Features, label: lab, scene: make([][]float32, len(meta.Features))}
		for f := range bench.scene {
			col := make([]float32, n)
			for i := range col {
				col[i] = math.Float32frombits(binary.LittleEndian.Uint32(f32[4*(f*n+i):]))
			}
			bench.scene[f] = col
		}
		for i := 0; i+4 <= len(pk); i += 4 {
			bench.pick = append(bench.pick, binary.LittleEndian.Uint32(pk[i:]))
		}
	})
	if benchErr != nil {
		b.Fatalf("RF_BENCH_DIR: %v", benchErr)
	}
	return &bench
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return os.ErrInvalid
}

// synthBench makes an S2-like synthetic scene: 7 classes with overlapping
// class-mean spectra plus noise, and random training picks.
func synthBench(pixels, picks int) benchData {
	r := newRand(2048)
	means := [7][4]float64{{.03, .05, .03, .30}, {.05, .08, .08, .25}, {.05, .09, .07, .28}, {.06, .09, .09, .32}, {.10, .11, .12, .17}, {.13, .16, .19, .24}, {.06, .05, .03, .02}}
	d := benchData{features: []string{"B02", "B03", "B04", "B08", "NDVI", "NDWI"}, label: make([]uint8, pixels), scene: make([][]float32, 6)}
	for f := range d.scene {
		d.scene[f] = make([]float32, pixels)
	}
	for i := range pixels {
		c := r.IntN(7)
		d.label[i] = uint8(10 * (c + 1))
		var v [4]float32
		for b := range v {
			v[b] = float32((means[c][b]+r.NormFloat64()*0.035*(0.5+means[c][b]*4))*10000 + 1000)
			d.scene[b][i] = v[b]
		}
		d.scene[4][i] = (v[3] - v[2]) / (v[3] + v[2])
		d.scene[5][i] = (v[1] - v[3]) / (v[1] + v[3])
	}
	for range picks {
		d.pick = append(d.pick, uint32(r.IntN(pixels)))
	}
	return d
}

func (d *benchData) dataset(b *testing.B, n int) Dataset {
	if len(d.pick) < n {
		b.Skipf("only %d samples available", len(d.pick))
	}
	ds := Dataset{Features: d.features, X: make([][]float32, len(d.features)), Y: make([]uint8, n)}
	for f := range ds.X {
		ds.X[f] = make([]float32, n)
		for i, p := range d.pick[:n] {
			ds.X[f][i] = d.scene[f][p]
		}
	}
	for i, p := range d.pick[:n] {
		ds.Y[i] = d.label[p]
	}
	return ds
}

func benchParams(trees int) Params {
	p := DefaultParams()
	p.Trees, p.MaxDepth, p.Seed = trees, 16, 42
	return p
}

func benchTrain(b *testing.B, n, trees int) *Model {
	d := loadBench(b).dataset(b, n)
	b.ResetTimer()
	var m *Model
	for b.Loop() {
		var err error
		if m, err = Train(context.Background(), d, benchParams(trees)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	return m
}

// BenchmarkTrain200k: 200,000 samples × 6 features, 50 trees, depth 16.
func BenchmarkTrain200k(b *testing.B) {
	m := benchTrain(b, 200_000, 50)
	// holdout accuracy on the next 100,000 picks (as sklearn_bench.py)
	d := loadBench(b)
	if len(d.pick) >= 300_000 {
		hold := Dataset{Features: d.features, X: make([][]float32, len(d.features))}
		for f := range hold.X {
			for _, p := range d.pick[200_000:300_000] {
				hold.X[f] = append(hold.X[f], d.scene[f][p])
			}
		}
		for _, p := range d.pick[200_000:300_000] {
			hold.Y = append(hold.Y, d.label[p])
		}
		b.ReportMetric(accuracy(b, m, hold.X, hold.Y), "holdout_acc")
	}
}

// BenchmarkTrain1M: 1,000,000 samples × 6 features, 100 trees, depth 16.
func BenchmarkTrain1M(b *testing.B) { benchTrain(b, 1_000_000, 100) }

// BenchmarkPredictScene: every pixel of the scene (2048² = 4.2 Mpixel) with
// the 200k-sample, 50-tree, depth-16 model; class output only.
func BenchmarkPredictScene(b *testing.B) {
	d := loadBench(b)
	modelOnce.Do(func() {
		var err error
		model200k, err = Train(context.Background(), d.dataset(b, 200_000), benchParams(50))
		if err != nil {
			b.Fatal(err)
		}
	})
	n := len(d.label)
	class := make([]uint8, n)
	b.ResetTimer()
	for b.Loop() {
		if err := model200k.Predict(d.scene, class, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
}

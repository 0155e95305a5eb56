package geo

import (
	"testing"
)

func mustParse(tb testing.TB, s string) *CRS {
	tb.Helper()
	c, err := Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// benchWarp times Resample of one win-sized destination chunk and reports
// destination Mpixel/s.
func benchWarp[T Number](b *testing.B, dst, src Grid, win Window, method Method) {
	sw, ok := SourceWindow(dst, win, src, 1)
	if !ok {
		b.Fatal("no overlap")
	}
	data := make([]T, sw.W*sw.H)
	for i := range data {
		data[i] = T(i%251 + 1)
	}
	out := make([]T, win.W*win.H)
	w, err := NewWarper(dst, src)
	if err != nil {
		b.Fatal(err)
	}
	nodata := 0.0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Resample(win, sw, data, method, &nodata, out, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(win.W*win.H)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
}

// Sentinel-2 tile 29RKH geometry: 20 m bands onto the 10 m grid (same CRS).
func s2Grids(tb testing.TB) (dst, src Grid) {
	utm := mustParse(tb, "EPSG:32629")
	src = Grid{CRS: utm, Width: 5490, Height: 5490, Transform: [6]float64{199980, 20, 0, 2800020, 0, -20}}
	dst = Grid{CRS: utm, Width: 10980, Height: 10980, Transform: [6]float64{199980, 10, 0, 2800020, 0, -10}}
	return dst, src
}

// WorldCover tile N00E006 (EPSG:4326, 1/12000 deg) onto a 10 m UTM 32N grid.
func worldCoverGrids(tb testing.TB) (dst, src Grid) {
	src = Grid{CRS: mustParse(tb, "EPSG:4326"), Width: 36000, Height: 36000,
		Transform: [6]float64{6, 1.0 / 12000, 0, 3, 0, -1.0 / 12000}}
	dst = Grid{CRS: mustParse(tb, "EPSG:32632"), Width: 10980, Height: 10980,
		Transform: [6]float64{300000, 10, 0, 200000, 0, -10}}
	return dst, src
}

var benchWin = Window{2048, 2048, 1024, 1024}

func BenchmarkResampleS2BilinearUint16(b *testing.B) {
	dst, src := s2Grids(b)
	benchWarp[uint16](b, dst, src, benchWin, Bilinear)
}

func BenchmarkResampleS2NearestUint16(b *testing.B) {
	dst, src := s2Grids(b)
	benchWarp[uint16](b, dst, src, benchWin, Nearest)
}

func BenchmarkResampleS2AverageUint16(b *testing.B) {
	dst, src := s2Grids(b)
	benchWarp[uint16](b, dst, src, benchWin, Average)
}

func BenchmarkResampleWorldCoverNearestUint8(b *testing.B) {
	dst, src := worldCoverGrids(b)
	benchWarp[uint8](b, dst, src, benchWin, Nearest)
}

func BenchmarkResampleWorldCoverModeUint8(b *testing.B) {
	dst, src := worldCoverGrids(b)
	benchWarp[uint8](b, dst, src, benchWin, Mode)
}

func BenchmarkTransform4326ToUTM(b *testing.B) {
	tr, err := NewTransformer(mustParse(b, "EPSG:4326"), mustParse(b, "EPSG:32632"))
	if err != nil {
		b.Fatal(err)
	}
	const n = 4096
	xs, ys := make([]float64, n), make([]float64, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range xs {
			xs[j], ys[j] = 6+float64(j)*1e-4, 1+float64(j)*1e-4
		}
		_ = tr.Transform(xs, ys)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpoint/s")
}

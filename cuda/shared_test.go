package cuda

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// Test bodies shared by the CPU emulation (emul_test.go) and a real GPU
// (gpu_test.go): they take a Driver and compare the device with the Go
// references.

// s2Specs are the indices of the CPU operator, in its band names.
var s2Specs = []IndexSpec{
	{"ndvi", NormalizedDifference, []string{"B08", "B04"}},
	{"ndwi", NormalizedDifference, []string{"B03", "B08"}},
	{"mndwi", NormalizedDifference, []string{"B03", "B11"}},
	{"ndbi", NormalizedDifference, []string{"B11", "B08"}},
	{"savi", SAVI, []string{"B08", "B04"}},
	{"evi", EVI, []string{"B08", "B04", "B02"}},
	{"nbr", NormalizedDifference, []string{"B08", "B12"}},
	{"ndmi", NormalizedDifference, []string{"B08", "B11"}},
}

var s2Bands = []string{"B02", "B03", "B04", "B08", "B11", "B12"}

// randomBands makes n pixels of Sentinel-2-like DNs with some nodata (0),
// equal pairs (zero numerators) and DN 1000 (zero reflectance with offset
// -1000, hence zero denominators).
func randomBands(n int, seed uint64) map[string][]uint16 {
	r := rand.New(rand.NewPCG(seed, 1))
	bands := map[string][]uint16{}
	for _, b := range s2Bands {
		v := make([]uint16, n)
		for i := range v {
			switch r.IntN(20) {
			case 0:
				v[i] = 0
			case 1:
				v[i] = 1000
			default:
				v[i] = uint16(r.IntN(12000))
			}
		}
		bands[b] = v
	}
	return bands
}

// sameFloats reports the first index where a and b differ by more than
// rel (relative), or where exactly one is NaN; bitDiff counts inexact pairs.
func sameFloats(a, b []float32, rel float64) (bad int, bitDiff int) {
	bad = -1
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		if math.IsNaN(x) || math.IsNaN(y) {
			if math.IsNaN(x) != math.IsNaN(y) && bad < 0 {
				bad = i
			}
			continue
		}
		if a[i] != b[i] {
			bitDiff++
			if math.Abs(x-y) > rel*math.Max(math.Abs(x), math.Abs(y)) && bad < 0 {
				bad = i
			}
		}
	}
	return bad, bitDiff
}

// testIndices compares Device.Indices with IndicesCPU over n pixels; exact
// demands bit-identical results (NaN payloads aside).
func testIndices(t *testing.T, dv *Device, n int, offset float32, exact bool) {
	t.Helper()
	bands := randomBands(n, 7)
	nodata := 0.0
	specs := s2Specs
	for len(specs) <= maxSpecsPerLaunch { // more than one launch's worth
		for _, s := range s2Specs {
			s.Name += "_" + string(rune('a'+len(specs)/len(s2Specs)))
			specs = append(specs, s)
		}
	}
	want, got := map[string][]float32{}, map[string][]float32{}
	if err := IndicesCPU(bands, &nodata, specs, 1e-4, offset, want); err != nil {
		t.Fatal(err)
	}
	if err := dv.Indices(context.Background(), bands, &nodata, specs, 1e-4, offset, got); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		bad, diff := sameFloats(got[s.Name], want[s.Name], 1e-6)
		if bad >= 0 {
			t.Fatalf("%s pixel %d: device %v, reference %v", s.Name, bad, got[s.Name][bad], want[s.Name][bad])
		}
		if diff > 0 {
			if exact {
				t.Fatalf("%s: %d of %d pixels not bit-identical", s.Name, diff, n)
			}
			t.Logf("%s: %d of %d pixels within 1e-6 but not bit-identical", s.Name, diff, n)
		}
	}
}

// randomForest makes a forest of ntrees random trees of the given depth
// over nf features and nk classes, thresholds drawn from the data's range.
func randomForest(seed uint64, ntrees, depth, nf, nk int) FlatForest {
	r := rand.New(rand.NewPCG(seed, 2))
	f := FlatForest{NumFeatures: nf, NumClasses: nk}
	var grow func(d int) int32
	grow = func(d int) int32 {
		i := int32(len(f.Feature))
		f.Feature = append(f.Feature, -1)
		f.Threshold = append(f.Threshold, 0)
		f.Left = append(f.Left, -1)
		f.Right = append(f.Right, -1)
		f.LeafValue = append(f.LeafValue, 0)
		if d == depth || (d > 1 && r.IntN(5) == 0) {
			f.LeafValue[i] = int32(len(f.Proba))
			var sum float32
			p := make([]float32, nk)
			for k := range p {
				p[k] = float32(r.IntN(4)) // small integers: ties happen
				sum += p[k]
			}
			for k := range p {
				if sum == 0 {
					p[k] = 1 / float32(nk)
				} else {
					p[k] /= sum
				}
			}
			f.Proba = append(f.Proba, p...)
			return i
		}
		f.Feature[i] = int32(r.IntN(nf))
		f.Threshold[i] = float32(r.IntN(100)) / 100
		l := grow(d + 1)
		rt := grow(d + 1)
		f.Left[i], f.Right[i] = l, rt
		return i
	}
	for range ntrees {
		f.Roots = append(f.Roots, grow(0))
	}
	return f
}

// randomFeatures makes nf columns of n values in [0,1), quantised to
// hundredths so that some equal thresholds, with a few NaNs.
func randomFeatures(n, nf int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	X := make([][]float32, nf)
	for f := range X {
		X[f] = make([]float32, n)
		for i := range X[f] {
			X[f][i] = float32(r.IntN(100)) / 100
			if r.IntN(500) == 0 {
				X[f][i] = float32(math.NaN())
			}
		}
	}
	return X
}

// testForest compares DeviceForest.Predict with FlatForest.Predict: classes
// and confidences must be identical for every row.
func testForest(t *testing.T, dv *Device, n int, withClasses bool) {
	t.Helper()
	f := randomForest(11, 20, 10, 6, 5)
	if withClasses {
		f.Classes = []uint8{10, 20, 30, 40, 80}
	}
	X := randomFeatures(n, f.NumFeatures, 5)
	wantC, gotC := make([]uint8, n), make([]uint8, n)
	wantP, gotP := make([]float32, n), make([]float32, n)
	if err := f.Predict(X, wantC, wantP); err != nil {
		t.Fatal(err)
	}
	df, err := dv.LoadForest(f)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	if err := df.Predict(context.Background(), X, gotC, gotP); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if gotC[i] != wantC[i] || math.Float32bits(gotP[i]) != math.Float32bits(wantP[i]) {
			t.Fatalf("row %d: device class %d conf %v, reference class %d conf %v", i, gotC[i], gotP[i], wantC[i], wantP[i])
		}
	}
	// Outputs are optional.
	onlyC := make([]uint8, n)
	if err := df.Predict(context.Background(), X, onlyC, nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if onlyC[i] != wantC[i] {
			t.Fatalf("class-only row %d: %d, want %d", i, onlyC[i], wantC[i])
		}
	}
}

// testPoolSteady streams chunks of one size 1000 times: after the first the
// pool must not grow, and everything must go back.
func testPoolSteady(t *testing.T, dv *Device) {
	t.Helper()
	const n = 4096
	bands := randomBands(n, 3)
	out := map[string][]float32{}
	ctx := context.Background()
	if err := dv.Indices(ctx, bands, nil, s2Specs, 1e-4, 0, out); err != nil {
		t.Fatal(err)
	}
	first := dv.PoolStats()
	pinned := dv.PinnedBytes()
	for range 1000 {
		if err := dv.Indices(ctx, bands, nil, s2Specs, 1e-4, 0, out); err != nil {
			t.Fatal(err)
		}
	}
	st := dv.PoolStats()
	if st.Grows != first.Grows || st.Reserved != first.Reserved || st.Used != 0 || st.Allocs != st.Frees {
		t.Fatalf("pool changed over 1000 chunks: after the first %+v, at the end %+v", first, st)
	}
	if p := dv.PinnedBytes(); p != pinned {
		t.Fatalf("pinned staging grew from %d to %d bytes", pinned, p)
	}
	t.Logf("pool after 1001 calls: %+v", st)
}

// testStreamsLargerThanPool runs a scene whose buffers exceed the pool
// limit several times over: it must go through in chunks, within the limit.
func testStreamsLargerThanPool(t *testing.T, drv *Driver, n int, limit int64) {
	t.Helper()
	dv, err := drv.Open(0, DeviceOptions{PoolLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer dv.Close()
	bands := randomBands(n, 9)
	bytes := int64(n) * int64(len(s2Bands)*2+len(s2Specs)*4)
	if bytes < 3*limit {
		t.Fatalf("test scene of %d bytes is not larger than the pool limit %d", bytes, limit)
	}
	want, got := map[string][]float32{}, map[string][]float32{}
	if err := IndicesCPU(bands, nil, s2Specs, 1e-4, -1000, want); err != nil {
		t.Fatal(err)
	}
	if err := dv.Indices(context.Background(), bands, nil, s2Specs, 1e-4, -1000, got); err != nil {
		t.Fatal(err)
	}
	for _, s := range s2Specs {
		if bad, _ := sameFloats(got[s.Name], want[s.Name], 1e-6); bad >= 0 {
			t.Fatalf("%s pixel %d: device %v, reference %v", s.Name, bad, got[s.Name][bad], want[s.Name][bad])
		}
	}
	st := dv.PoolStats()
	if st.Peak > limit || st.Reserved > limit {
		t.Fatalf("pool exceeded its limit %d: %+v", limit, st)
	}
	t.Logf("%d-byte scene through a %d-byte pool: %+v", bytes, limit, st)

	// A forest larger than the pool cannot load.
	big := FlatForest{NumFeatures: 1, NumClasses: 1, Roots: []int32{0}, Feature: []int32{-1},
		Threshold: []float32{0}, Left: []int32{0}, Right: []int32{0}, LeafValue: []int32{0},
		Proba: make([]float32, limit/4+1)}
	if _, err := dv.LoadForest(big); !errors.Is(err, ErrPoolLimit) {
		t.Fatalf("loading a forest larger than the pool: %v, want ErrPoolLimit", err)
	}
}

package forest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// gen builds a dataset of n samples with nf uniform [-1,1] features and
// labels from label(x); flip is the fraction of labels replaced at random by
// one of codes. It returns the noisy dataset and the noise-free labels.
func gen(n, nf int, seed uint64, flip float64, codes []uint8, label func(x []float32) uint8) (Dataset, []uint8) {
	r := newRand(seed)
	d := Dataset{X: make([][]float32, nf), Y: make([]uint8, n)}
	for f := range nf {
		d.Features = append(d.Features, "f"+itoa(f))
		d.X[f] = make([]float32, n)
	}
	clean := make([]uint8, n)
	x := make([]float32, nf)
	for i := range n {
		for f := range nf {
			x[f] = float32(r.Float64()*2 - 1)
			d.X[f][i] = x[f]
		}
		clean[i] = label(x)
		d.Y[i] = clean[i]
		if r.Float64() < flip {
			d.Y[i] = codes[r.IntN(len(codes))]
		}
	}
	return d, clean
}

func trainT(t testing.TB, d Dataset, p Params) *Model {
	t.Helper()
	m, err := Train(context.Background(), d, p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func accuracy(t testing.TB, m *Model, X [][]float32, truth []uint8) float64 {
	t.Helper()
	pred := make([]uint8, len(truth))
	if err := m.Predict(X, pred, nil, nil); err != nil {
		t.Fatal(err)
	}
	met, err := Evaluate(truth, pred, m.Classes())
	if err != nil {
		t.Fatal(err)
	}
	return met.Accuracy
}

func linear(x []float32) uint8 {
	if x[0]+0.5*x[1] > 0.1 {
		return 20
	}
	return 10
}

func xor(x []float32) uint8 {
	if (x[0] > 0) != (x[1] > 0) {
		return 2
	}
	return 1
}

func TestLinearSeparable(t *testing.T) {
	d, _ := gen(4000, 3, 1, 0, nil, linear)
	v, vy := gen(4000, 3, 2, 0, nil, linear)
	p := DefaultParams()
	p.Trees = 30
	m := trainT(t, d, p)
	if acc := accuracy(t, m, v.X, vy); acc < 0.98 {
		t.Errorf("linearly separable: accuracy %.4f < 0.98", acc)
	}
	if got := m.Classes(); !bytes.Equal(got, []uint8{10, 20}) {
		t.Errorf("classes %v, want [10 20]", got)
	}
}

func TestNoisyXOR(t *testing.T) {
	codes := []uint8{1, 2}
	d, _ := gen(6000, 4, 3, 0.2, codes, xor) // 2 useless features, 10% wrong labels
	v, clean := gen(4000, 4, 4, 0, codes, xor)
	for _, bins := range []int{256, 16} {
		p := DefaultParams()
		p.Trees, p.MinSamplesLeaf, p.Bins, p.MaxFeatures = 50, 5, bins, "all"
		if acc := accuracy(t, trainT(t, d, p), v.X, clean); acc < 0.95 {
			t.Errorf("noisy XOR, %d bins: accuracy vs clean labels %.4f < 0.95", bins, acc)
		}
	}
}

func TestClassWeightBalanced(t *testing.T) {
	// minority class 2 (about 5%) overlaps class 1: unweighted shallow trees
	// rarely predict it; balanced weights must raise its recall.
	lab := func(x []float32) uint8 {
		if x[0]+0.3*x[1] > 0.8 {
			return 2
		}
		return 1
	}
	codes := []uint8{1, 2}
	d, _ := gen(8000, 2, 5, 0.15, codes, lab)
	v, clean := gen(8000, 2, 6, 0, codes, lab)
	recall := func(cw string) float64 {
		p := DefaultParams()
		p.Trees, p.MaxDepth, p.ClassWeight, p.MinSamplesLeaf = 30, 3, cw, 20
		m := trainT(t, d, p)
		pred := make([]uint8, v.Len())
		if err := m.Predict(v.X, pred, nil, nil); err != nil {
			t.Fatal(err)
		}
		met, _ := Evaluate(clean, pred, []uint8{1, 2})
		return met.PerClass[1].Recall
	}
	none, bal := recall("none"), recall("balanced")
	t.Logf("minority recall: none %.3f, balanced %.3f", none, bal)
	if bal < none+0.05 {
		t.Errorf("balanced class weights: minority recall %.3f not above unweighted %.3f", bal, none)
	}
}

func TestProbaSemantics(t *testing.T) {
	codes := []uint8{1, 2, 3}
	lab := func(x []float32) uint8 { return uint8(1 + int((x[0]+1)*1.5)%3) }
	d, _ := gen(3000, 3, 8, 0.3, codes, lab)
	p := DefaultParams()
	p.Trees = 20
	m := trainT(t, d, p)
	n := 701 // not a multiple of the 4-row walk
	X := [][]float32{d.X[0][:n], d.X[1][:n], d.X[2][:n]}
	class, conf := make([]uint8, n), make([]float32, n)
	proba := [][]float32{make([]float32, n), make([]float32, n), make([]float32, n)}
	if err := m.Predict(X, class, proba, conf); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var sum float32
		best := 0
		for k := range proba {
			sum += proba[k][i]
			if proba[k][i] > proba[best][i] {
				best = k
			}
		}
		if math.Abs(float64(sum-1)) > 1e-5 || class[i] != codes[best] || conf[i] != proba[best][i] {
			t.Fatalf("row %d: proba sum %v, class %d (argmax %d), conf %v", i, sum, class[i], codes[best], conf[i])
		}
	}
	if err := m.Predict(X[:2], class, nil, nil); !errors.Is(err, ErrShape) {
		t.Errorf("2 of 3 columns: err %v, want ErrShape", err)
	}
	if err := m.Predict(X, class[:5], nil, nil); !errors.Is(err, ErrShape) {
		t.Errorf("short output: err %v, want ErrShape", err)
	}
}

func TestNaNGoesLeft(t *testing.T) {
	// one feature: class 1 below 0, class 2 above; NaN follows x <= t (left) → class 1.
	d, _ := gen(2000, 1, 9, 0, nil, func(x []float32) uint8 { return 1 + b2u(x[0] > 0) })
	p := DefaultParams()
	p.Trees = 5
	m := trainT(t, d, p)
	class := make([]uint8, 3)
	m.Predict([][]float32{{float32(math.NaN()), -0.5, 0.5}}, class, nil, nil)
	if !bytes.Equal(class, []uint8{1, 1, 2}) {
		t.Errorf("NaN/-0.5/0.5 predicted %v, want [1 1 2]", class)
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func TestDeterminism(t *testing.T) {
	codes := []uint8{1, 2}
	d, _ := gen(3000, 5, 10, 0.2, codes, xor)
	p := DefaultParams()
	p.Trees, p.Seed = 12, 7
	encode := func(procs int) []byte {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		q := p
		q.Workers = 0 // follow GOMAXPROCS
		b, err := trainT(t, d, q).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := encode(1), encode(2)
	if !bytes.Equal(a, b) {
		t.Error("GOMAXPROCS 1 and 2 give different model bytes")
	}
	q := p
	q.Seed, q.Workers = 8, 3
	c, _ := trainT(t, d, q).MarshalBinary()
	if bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 give identical models")
	}
}

func TestRoundTrip(t *testing.T) {
	d, _ := gen(2000, 4, 11, 0.1, []uint8{10, 20}, linear)
	p := DefaultParams()
	p.Trees, p.MaxDepth = 8, 6
	m := trainT(t, d, p)
	met, _ := Evaluate(d.Y, d.Y, nil)
	js, _ := json.Marshal(met)
	if err := m.SetMetrics(js); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.rfm")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m2, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fs, err := ReadFeatures(path); err != nil || !slices.Equal(fs, m.Features()) {
		t.Fatalf("ReadFeatures = %v, %v; want %v", fs, err, m.Features())
	}
	raw, _ := os.ReadFile(path)
	for _, bad := range [][]byte{raw[:10], append([]byte("RFFORESX"), raw[8:]...), raw[:20]} {
		p := filepath.Join(t.TempDir(), "bad.rfm")
		os.WriteFile(p, bad, 0o644)
		if _, err := ReadFeatures(p); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), p) {
			t.Errorf("ReadFeatures of a broken file: %v, want ErrFormat naming the file", err)
		}
	}
	a, _ := m.MarshalBinary()
	b, _ := m2.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("model bytes differ after a round trip")
	}
	if m2.Params().Trees != 8 || m2.Info().Samples != 2000 || !bytes.Equal(m2.Metrics(), m.Metrics()) {
		t.Errorf("header not restored: %+v %+v", m2.Params(), m2.Info())
	}
	p1, p2 := make([]uint8, d.Len()), make([]uint8, d.Len())
	c1, c2 := make([]float32, d.Len()), make([]float32, d.Len())
	m.Predict(d.X, p1, nil, c1)
	m2.Predict(d.X, p2, nil, c2)
	for i := range p1 {
		if p1[i] != p2[i] || c1[i] != c2[i] {
			t.Fatalf("row %d: predictions differ after a round trip", i)
		}
	}
	var sb strings.Builder
	if err := m.WriteJSON(&sb); err != nil || !strings.Contains(sb.String(), `"feature":"f0"`) {
		t.Errorf("WriteJSON: %v", err)
	}
}

func TestCheckFeatures(t *testing.T) {
	d, _ := gen(200, 3, 12, 0, nil, linear)
	d.Features = []string{"B04", "B08", "NDVI"}
	p := DefaultParams()
	p.Trees = 2
	m := trainT(t, d, p)
	if err := m.CheckFeatures([]string{"NDVI", "B08", "B04", "extra"}); err != nil {
		t.Errorf("all present: %v", err)
	}
	idx, err := m.FeatureIndex([]string{"NDVI", "B08", "B04"})
	if err != nil || idx[0] != 2 || idx[1] != 1 || idx[2] != 0 {
		t.Errorf("FeatureIndex = %v, %v", idx, err)
	}
	err = m.CheckFeatures([]string{"B08", "B02"})
	if !errors.Is(err, ErrFeatures) || !strings.Contains(err.Error(), "B04, NDVI") {
		t.Errorf("missing B04 and NDVI: got %v", err)
	}
}

// fixCRC rewrites the trailing checksum so that corruption reaches the validator.
func fixCRC(b []byte) {
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
}

func TestMalformedModels(t *testing.T) {
	d, _ := gen(500, 3, 13, 0.1, []uint8{1, 2}, xor)
	p := DefaultParams()
	p.Trees, p.MaxDepth = 3, 4
	good, _ := trainT(t, d, p).MarshalBinary()
	load := func(b []byte) error {
		_, err := Load(bytes.NewReader(b))
		return err
	}
	if err := load(good); err != nil {
		t.Fatal(err)
	}
	// every truncation fails
	for n := 0; n < len(good); n++ {
		if err := load(good[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	// a flipped bit fails the checksum
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 1
	if err := load(bad); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("flipped bit: %v", err)
	}
	// corrupted fields with a valid checksum: errors, never panics
	hlen := int(binary.LittleEndian.Uint32(good[12:]))
	treeCount := 16 + hlen
	for _, c := range []struct {
		name string
		off  int
		val  uint32
	}{
		{"version", 8, 2},
		{"header length", 12, 0xfffffff0},
		{"tree count", treeCount, 0xffffffff},
		{"node count", treeCount + 4, 0x7fffffff},
		{"leaf count", treeCount + 8, 0},
		{"root feature", treeCount + 12, 1000},
		{"root child", treeCount + 12 + 8, 0},
		{"root child beyond", treeCount + 12 + 8, 1 << 30},
	} {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[c.off:], c.val)
		fixCRC(b)
		if err := load(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", c.name, err)
		}
	}
	// random corruption: must not panic; a model that still loads must predict
	r := newRand(14)
	for range 3000 {
		b := bytes.Clone(good)
		for range 1 + r.IntN(3) {
			b[16+hlen+r.IntN(len(b)-20-hlen)] = byte(r.Uint32())
		}
		fixCRC(b)
		if m, err := Load(bytes.NewReader(b)); err == nil {
			m.Predict(d.X, make([]uint8, d.Len()), nil, nil)
		}
	}
}

func TestParamsValidation(t *testing.T) {
	for _, mf := range []struct {
		s    string
		want int
	}{{"sqrt", 3}, {"log2", 3}, {"all", 10}, {"0.5", 5}, {"4", 4}, {"0.01", 1}, {"40", 10}} {
		p := DefaultParams()
		p.MaxFeatures = mf.s
		if got, err := p.mtry(10); err != nil || got != mf.want {
			t.Errorf("max_features %q on 10 features: %d, %v; want %d", mf.s, got, err, mf.want)
		}
	}
	d, _ := gen(100, 2, 15, 0, nil, linear)
	for _, bad := range []func(*Params){
		func(p *Params) { p.MaxFeatures = "1.5" },
		func(p *Params) { p.MaxFeatures = "half" },
		func(p *Params) { p.Bins = 300 },
		func(p *Params) { p.ClassWeight = "balanced_subsample" },
		func(p *Params) { p.Trees = -1 },
	} {
		p := DefaultParams()
		bad(&p)
		if _, err := Train(context.Background(), d, p); !errors.Is(err, ErrParams) {
			t.Errorf("params %+v: err %v, want ErrParams", p, err)
		}
	}
	d.X[1] = d.X[1][:50]
	if _, err := Train(context.Background(), d, DefaultParams()); !errors.Is(err, ErrDataset) {
		t.Errorf("ragged dataset: err %v, want ErrDataset", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, _ = gen(100, 2, 15, 0, nil, linear)
	if _, err := Train(ctx, d, DefaultParams()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err %v", err)
	}
}

func TestBinEdges(t *testing.T) {
	// few distinct values: exact midpoints
	col := []float32{3, 1, 2, 2, 1, float32(math.NaN()), 3}
	e := binEdges(col, 256)
	if len(e) != 2 || e[0] != 1.5 || e[1] != 2.5 {
		t.Errorf("edges %v, want [1.5 2.5]", e)
	}
	// many distinct values: at most bins-1 increasing edges, roughly equal counts
	r := newRand(16)
	col = make([]float32, 100000)
	for i := range col {
		col[i] = float32(r.NormFloat64())
	}
	e = binEdges(col, 64)
	if len(e) < 60 || len(e) > 63 {
		t.Fatalf("%d edges for 64 bins", len(e))
	}
	bins := make([]uint8, len(col))
	binColumn(bins, col, e)
	var hist [64]int
	for i, b := range bins {
		hist[b]++
		if (b > 0 && col[i] <= e[b-1]) || (int(b) < len(e) && col[i] > e[b]) {
			t.Fatalf("value %v in bin %d, edges around %v", col[i], b, e[max(0, int(b)-1):min(len(e), int(b)+1)])
		}
	}
	for b, h := range hist[:len(e)+1] {
		if h < len(col)/64/2 || h > len(col)/64*2 {
			t.Errorf("bin %d holds %d of %d values", b, h, len(col))
		}
	}
}

package forest

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestFlatMatchesPredict checks that the flat layout handed to GPUs gives,
// through package cuda's reference predictor, exactly the classes and
// confidences of Predict, NaN rows included.
func TestFlatMatchesPredict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, nf = 20000, 5
	d := Dataset{Features: []string{"a", "b", "c", "d", "e"}, X: make([][]float32, nf), Y: make([]uint8, n)}
	for f := range d.X {
		d.X[f] = make([]float32, n)
	}
	for i := range n {
		for f := range nf {
			d.X[f][i] = float32(rng.NormFloat64())
		}
		c := uint8(10)
		if d.X[0][i]+0.5*d.X[1][i] > 0.3 {
			c = 20
		} else if d.X[2][i]*d.X[3][i] > 0.2 {
			c = 80
		}
		if rng.Float64() < 0.1 {
			c = []uint8{10, 20, 80}[rng.IntN(3)]
		}
		d.Y[i] = c
	}
	p := DefaultParams()
	p.Trees, p.MaxDepth, p.Seed = 15, 10, 3
	m, err := Train(context.Background(), d, p)
	if err != nil {
		t.Fatal(err)
	}
	flat := m.Flat()
	if _, err := flat.Validate(); err != nil {
		t.Fatal(err)
	}
	// New rows, some with NaN.
	X := make([][]float32, nf)
	for f := range X {
		X[f] = make([]float32, n)
		for i := range X[f] {
			X[f][i] = float32(rng.NormFloat64() * 1.5)
			if rng.IntN(50) == 0 {
				X[f][i] = float32(math.NaN())
			}
		}
	}
	want, wantConf := make([]uint8, n), make([]float32, n)
	if err := m.Predict(X, want, nil, wantConf); err != nil {
		t.Fatal(err)
	}
	got, gotConf := make([]uint8, n), make([]float32, n)
	if err := flat.Predict(X, got, gotConf); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] || math.Abs(float64(gotConf[i]-wantConf[i])) > 1e-6 {
			t.Fatalf("row %d: flat %d (%v), Predict %d (%v)", i, got[i], gotConf[i], want[i], wantConf[i])
		}
	}
}

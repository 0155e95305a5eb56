package forest

import (
	"errors"
	"math"
	"testing"
)

func TestSampler(t *testing.T) {
	s, err := NewSampler(SamplerConfig{Features: []string{"a", "b"}, PerClass: 200, Validation: 0.25, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// class 1: 10,000 rows in chunks of 997, feature a = running index;
	// class 2: 50 rows; class 0 rows masked out
	total, idx := 10000+50+500, 0
	for start := 0; start < total; start += 997 {
		n := min(997, total-start)
		X := [][]float32{make([]float32, n), make([]float32, n)}
		y, valid := make([]uint8, n), make([]bool, n)
		for i := range n {
			g := start + i
			X[0][i], X[1][i] = float32(idx), float32(g)
			switch {
			case g%21 == 0 && g < 1050:
				y[i], valid[i] = 2, true
			case g >= 10050:
				y[i] = 0
			default:
				y[i], valid[i] = 1, true
				idx++
			}
		}
		if err := s.Add(X, y, valid); err != nil {
			t.Fatal(err)
		}
	}
	seen := s.Seen()
	if seen[1] != 10000 || seen[2] != 50 || seen[0] != 0 {
		t.Fatalf("seen %v", seen)
	}
	tr, va := s.Split()
	count := func(d Dataset, c uint8) (n int) {
		for _, y := range d.Y {
			if y == c {
				n++
			}
		}
		return
	}
	if count(tr, 1) != 150 || count(va, 1) != 50 || count(tr, 2) != 37 || count(va, 2) != 13 {
		t.Errorf("class 1 train/val %d/%d (want 150/50), class 2 %d/%d (want 37/13 = round(12.5))", count(tr, 1), count(va, 1), count(tr, 2), count(va, 2))
	}
	// a reservoir is a uniform sample: the kept running indices of class 1
	// have mean about 5000 (sd of the mean of 200 uniform values ≈ 204)
	var sum float64
	for _, d := range []Dataset{tr, va} {
		for i, y := range d.Y {
			if y == 1 {
				sum += float64(d.X[0][i])
			}
		}
	}
	if mean := sum / 200; math.Abs(mean-5000) > 800 {
		t.Errorf("mean kept index %.0f, want about 5000", mean)
	}
	// reproducible
	tr2, _ := s.Split()
	for i := range tr.Y {
		if tr.Y[i] != tr2.Y[i] || tr.X[1][i] != tr2.X[1][i] {
			t.Fatal("Split is not reproducible")
		}
	}
	if err := s.Add([][]float32{{1}}, []uint8{1}, nil); !errors.Is(err, ErrShape) {
		t.Errorf("one column: %v", err)
	}
	if _, err := NewSampler(SamplerConfig{Features: []string{"a"}, Validation: 1}); !errors.Is(err, ErrParams) {
		t.Errorf("validation 1: %v", err)
	}
}

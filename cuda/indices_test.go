package cuda

import (
	"errors"
	"math"
	"testing"
)

// TestIndicesCPUFormulas checks the reference against the formulas written
// out in float64 (within float32 rounding), and NaN exactly where a band is
// nodata or the denominator is zero.
func TestIndicesCPUFormulas(t *testing.T) {
	const n = 50_000
	bands := randomBands(n, 1)
	for _, offset := range []float32{0, -1000} {
		nodata := 0.0
		out := map[string][]float32{}
		if err := IndicesCPU(bands, &nodata, s2Specs, 1e-4, offset, out); err != nil {
			t.Fatal(err)
		}
		refl := func(b string, i int) float64 { return (float64(bands[b][i]) + float64(offset)) * 1e-4 }
		nanCount := 0
		for _, s := range s2Specs {
			for i := range n {
				a, b := refl(s.Bands[0], i), refl(s.Bands[1], i)
				// numerator, denominator and the sums of their terms' magnitudes
				var num, den, numAbs, denAbs float64
				switch s.Kind {
				case NormalizedDifference:
					num, den = a-b, a+b
					numAbs, denAbs = math.Abs(a)+math.Abs(b), math.Abs(a)+math.Abs(b)
				case SAVI:
					num, den = 1.5*(a-b), a+b+0.5
					numAbs, denAbs = 1.5*(math.Abs(a)+math.Abs(b)), math.Abs(a)+math.Abs(b)+0.5
				case EVI:
					c := refl(s.Bands[2], i)
					num, den = 2.5*(a-b), a+6*b-7.5*c+1
					numAbs, denAbs = 2.5*(math.Abs(a)+math.Abs(b)), math.Abs(a)+6*math.Abs(b)+7.5*math.Abs(c)+1
				}
				want := num / den
				nodataPx := false
				for _, bn := range s2Bands {
					nodataPx = nodataPx || bands[bn][i] == 0
				}
				got := float64(out[s.Name][i])
				if nodataPx {
					if !math.IsNaN(got) {
						t.Fatalf("%s offset %v pixel %d: %v at nodata", s.Name, offset, i, got)
					}
					nanCount++
					continue
				}
				if math.Abs(den) <= 1e-5*denAbs {
					// float32 and float64 differ on which side of the
					// singularity (or on it) the denominator is.
					continue
				}
				// A few float32 roundings (2^-24 each) of every term, amplified
				// where numerator or denominator cancel.
				tol := 1e-6 * (numAbs + math.Abs(want)*denAbs) / math.Abs(den)
				if !(math.Abs(got-want) <= tol) { // NaN fails too
					t.Fatalf("%s offset %v pixel %d: %v, want %v", s.Name, offset, i, got, want)
				}
			}
		}
		if nanCount == 0 {
			t.Fatal("no NaN pixels: the data does not exercise nodata")
		}
	}
}

// TestIndicesCPUByHand checks values worked out by hand.
func TestIndicesCPUByHand(t *testing.T) {
	bands := map[string][]uint16{
		"nir":  {3000, 1000, 5000, 2000},
		"red":  {1000, 1000, 0, 2000},
		"blue": {500, 1000, 100, 2000},
	}
	specs := []IndexSpec{
		{"ndvi", NormalizedDifference, []string{"nir", "red"}},
		{"savi", SAVI, []string{"nir", "red"}},
		{"evi", EVI, []string{"nir", "red", "blue"}},
	}
	nodata := 0.0
	out := map[string][]float32{}
	if err := IndicesCPU(bands, &nodata, specs, 0.0001, -1000, out); err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	// Reflectances: nir .2 0 .4 .1; red 0 0 (nodata) .1; blue -.05 0 -.09 .1
	want := map[string][]float64{
		"ndvi": {1, nan, nan, 0},
		"savi": {1.5 * .2 / .7, 0, nan, 0},
		"evi":  {2.5 * .2 / (.2 + 7.5*.05 + 1), 0, nan, 0},
	}
	for name, w := range want {
		for i, v := range w {
			got := float64(out[name][i])
			if math.IsNaN(v) != math.IsNaN(got) || (!math.IsNaN(v) && math.Abs(got-v) > 1e-6) {
				t.Errorf("%s[%d] = %v, want %v", name, i, got, v)
			}
		}
	}
}

func TestIndicesCPUErrors(t *testing.T) {
	bands := map[string][]uint16{"a": {1, 2}, "b": {1}}
	cases := []struct {
		specs []IndexSpec
		out   map[string][]float32
		is    error
	}{
		{[]IndexSpec{{"x", NormalizedDifference, []string{"a", "b"}}}, map[string][]float32{}, ErrShape},
		{[]IndexSpec{{"x", NormalizedDifference, []string{"a", "c"}}}, map[string][]float32{}, nil},
		{[]IndexSpec{{"x", EVI, []string{"a", "a"}}}, map[string][]float32{}, nil},
		{[]IndexSpec{{"x", NormalizedDifference, []string{"a", "a"}}}, map[string][]float32{"x": make([]float32, 3)}, ErrShape},
		{[]IndexSpec{{"x", NormalizedDifference, []string{"a", "a"}}}, nil, ErrShape},
	}
	for i, c := range cases {
		err := IndicesCPU(bands, nil, c.specs, 1, 0, c.out)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("case %d: %v, want an error (%v)", i, err, c.is)
		}
	}
}

package synth

import "testing"

// TestLatticeNoiseExact checks that the per-window lattice gives exactly
// the directly hashed noise.
func TestLatticeNoiseExact(t *testing.T) {
	s := Scene{Size: 3000, Seed: 11}
	scale := 125.0
	nz := s.noiser(700, 1300, 300, 200, scale)
	for y := 1300; y < 1500; y += 7 {
		for x := 700; x < 1000; x += 5 {
			fx, fy := float64(x)/scale, float64(y)/scale
			for oct, f := range octaveFreq {
				for _, d := range [][2]float64{{0, 0}, {0.35, 0.2}} {
					a := nz.noise((fx+d[0])*f, (fy+d[1])*f, oct)
					b := s.noise((fx+d[0])*f, (fy+d[1])*f, oct)
					if a != b {
						t.Fatalf("octave %d at (%d,%d): lattice %v, direct %v", oct, x, y, a, b)
					}
				}
			}
		}
	}
}

// TestWindowsCompose checks that rendering a scene in windows gives the
// same pixels as rendering it whole, and that classes are all present.
func TestWindowsCompose(t *testing.T) {
	s := Scene{Size: 600, Seed: 2}
	whole := s.Render(0, 0, 600, 600)
	part := s.Render(250, 130, 170, 90)
	for j := 0; j < 90; j++ {
		for i := 0; i < 170; i++ {
			k, kw := j*170+i, (130+j)*600+250+i
			if part.Label[k] != whole.Label[kw] || part.Bands[3][k] != whole.Bands[3][kw] {
				t.Fatalf("pixel (%d,%d) differs between windows", 250+i, 130+j)
			}
		}
	}
	counts := map[uint8]int{}
	for _, v := range whole.Label {
		counts[v]++
	}
	if len(counts) < 6 {
		t.Fatalf("only %d classes in a 600² scene: %v", len(counts), counts)
	}
}

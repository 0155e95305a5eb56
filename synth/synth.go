package synth

import (
	"math"
)

// Bands are the band names, in column order.
var Bands = []string{"B02", "B03", "B04", "B08", "B11", "B12"}

// Classes are the WorldCover codes the scene uses.
var Classes = []uint8{10, 20, 30, 40, 50, 60, 80, 90}

// signature is the mean surface reflectance of a class per band (B02 B03
// B04 B08 B11 B12), after typical values from spectral libraries.
var signature = map[uint8][6]float64{
	10: {0.030, 0.055, 0.035, 0.300, 0.150, 0.070}, // tree cover
	20: {0.050, 0.080, 0.080, 0.250, 0.230, 0.140}, // shrubland
	30: {0.050, 0.085, 0.070, 0.280, 0.220, 0.120}, // grassland
	40: {0.060, 0.090, 0.085, 0.330, 0.250, 0.150}, // cropland
	50: {0.110, 0.120, 0.130, 0.180, 0.220, 0.200}, // built-up
	60: {0.150, 0.180, 0.220, 0.270, 0.350, 0.300}, // bare
	80: {0.060, 0.050, 0.030, 0.020, 0.010, 0.008}, // water
	90: {0.040, 0.060, 0.050, 0.180, 0.100, 0.060}, // wetland
}

// Scene is a synthetic scene.
type Scene struct {
	Size int
	Seed uint64
}

// Window holds a window's pixels: Bands[i] follows Bands, row-major.
type Window struct {
	Bands [6][]uint16
	Label []uint8
}

// Nodata reports whether a pixel lies in the nodata corner.
func (s Scene) Nodata(x, y int) bool { return x+y < s.Size/16 }

// Render computes a window [x0,x0+w) × [y0,y0+h).
func (s Scene) Render(x0, y0, w, h int) *Window {
	out := &Window{Label: make([]uint8, w*h)}
	for b := range out.Bands {
		out.Bands[b] = make([]uint16, w*h)
	}
	s.RenderInto(x0, y0, w, h, out)
	return out
}

// RenderInto computes a window into out, whose slices hold w*h values.
func (s Scene) RenderInto(x0, y0, w, h int, out *Window) {
	// Patch scale follows the scene size, so small test scenes still hold
	// many patches, bounded so large scenes look like fields and forests.
	scale := math.Max(24, math.Min(160, float64(s.Size)/24))
	nz := s.noiser(x0, y0, w, h, scale)
	for j := 0; j < h; j++ {
		y := y0 + j
		for i := 0; i < w; i++ {
			x := x0 + i
			k := j*w + i
			if s.Nodata(x, y) {
				for b := range out.Bands {
					out.Bands[b][k] = 0
				}
				out.Label[k] = 0
				continue
			}
			fx, fy := float64(x)/scale, float64(y)/scale
			cls := nz.class(fx, fy)
			out.Label[k] = cls
			// Mixed pixels: near a patch edge, blend with the class a little
			// further along the noise field.
			other := nz.class(fx+0.35, fy+0.2)
			mix := 0.0
			if other != cls {
				mix = 0.25 * nz.noise(fx*3, fy*3, 11)
			}
			bright := 1 + 0.18*(nz.noise(fx*0.7, fy*0.7, 7)-0.5) + 0.10*(nz.noise(fx*4, fy*4, 8)-0.5)
			sig, osig := signature[cls], signature[other]
			// One smooth field shared by the bands, weighted per band, and
			// independent per-pixel noise.
			tex := 0.02 * (nz.noise(fx*2, fy*2, 20) - 0.5)
			h := hash(s.Seed, uint64(x), uint64(y), 99)
			for b := range out.Bands {
				r := ((1-mix)*sig[b] + mix*osig[b]) * bright
				r += 0.014 * irwinHall(h>>(10*b))
				r += tex * texWeight[b]
				dn := math.Round(r*10000 + 1000)
				out.Bands[b][k] = uint16(math.Max(1, math.Min(65535, dn)))
			}
		}
	}
}

// class maps two low-frequency fields (wetness, roughness) to a class.
func (nz *noiser) class(fx, fy float64) uint8 {
	wet := 0.6*nz.noise(fx, fy, 1) + 0.4*nz.noise(fx*2.1, fy*2.1, 2)
	rough := 0.6*nz.noise(fx*0.9, fy*0.9, 3) + 0.4*nz.noise(fx*2.3, fy*2.3, 4)
	dev := nz.noise(fx*1.3, fy*1.3, 5)
	switch {
	case wet > 0.74:
		return 80
	case wet > 0.68:
		return 90
	case dev > 0.78:
		return 50
	case rough > 0.70:
		return 10
	case rough > 0.60:
		return 20
	case rough < 0.28 && wet < 0.35:
		return 60
	case dev < 0.38:
		return 40
	}
	return 30
}

// octaveFreq is the frequency (in patch-scale units) each octave of noise
// is sampled at by Render.
var octaveFreq = map[uint64]float64{1: 1, 2: 2.1, 3: 0.9, 4: 2.3, 5: 1.3, 7: 0.7, 8: 4, 11: 3, 20: 2}

// noiser evaluates the noise octaves of one window from lattice values
// hashed once per window instead of four times per pixel. It gives exactly
// Scene.noise's values.
type noiser struct {
	s      Scene
	fields [21]*lattice
}

// lattice holds unit() values on integer lattice points [x0,x0+w)×[y0,y0+h).
type lattice struct {
	x0, y0 int64
	w, h   int
	v      []float64
}

func (s Scene) noiser(x0, y0, w, h int, scale float64) *noiser {
	nz := &noiser{s: s}
	fx0, fy0 := float64(x0)/scale, float64(y0)/scale
	fx1, fy1 := float64(x0+w)/scale+0.35, float64(y0+h)/scale+0.2
	for oct, f := range octaveFreq {
		lx0, ly0 := int64(math.Floor(fx0*f))-1, int64(math.Floor(fy0*f))-1
		lx1, ly1 := int64(math.Floor(fx1*f))+2, int64(math.Floor(fy1*f))+2
		l := &lattice{x0: lx0, y0: ly0, w: int(lx1 - lx0 + 1), h: int(ly1 - ly0 + 1)}
		l.v = make([]float64, l.w*l.h)
		for j := 0; j < l.h; j++ {
			for i := 0; i < l.w; i++ {
				l.v[j*l.w+i] = unit(s.Seed, uint64(lx0+int64(i)), uint64(ly0+int64(j)), oct)
			}
		}
		nz.fields[oct] = l
	}
	return nz
}

// noise is Scene.noise through the window's lattice.
func (nz *noiser) noise(x, y float64, octave uint64) float64 {
	l := nz.fields[octave]
	if l == nil {
		return nz.s.noise(x, y, octave)
	}
	xi, yi := math.Floor(x), math.Floor(y)
	i, j := int64(xi)-l.x0, int64(yi)-l.y0
	if i < 0 || j < 0 || i+1 >= int64(l.w) || j+1 >= int64(l.h) {
		return nz.s.noise(x, y, octave)
	}
	tx, ty := x-xi, y-yi
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	k := int(j)*l.w + int(i)
	v00, v10, v01, v11 := l.v[k], l.v[k+1], l.v[k+l.w], l.v[k+l.w+1]
	a := v00 + (v10-v00)*tx
	b := v01 + (v11-v01)*tx
	return a + (b-a)*ty
}

// noise is smooth value noise in [0,1] on a unit lattice.
func (s Scene) noise(x, y float64, octave uint64) float64 {
	xi, yi := math.Floor(x), math.Floor(y)
	tx, ty := x-xi, y-yi
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	ix, iy := uint64(int64(xi)), uint64(int64(yi))
	v00 := unit(s.Seed, ix, iy, octave)
	v10 := unit(s.Seed, ix+1, iy, octave)
	v01 := unit(s.Seed, ix, iy+1, octave)
	v11 := unit(s.Seed, ix+1, iy+1, octave)
	a := v00 + (v10-v00)*tx
	b := v01 + (v11-v01)*tx
	return a + (b-a)*ty
}

func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hash(seed, a, b, c uint64) uint64 {
	return mix64(mix64(mix64(seed^0x5851f42d4c957f2d)^a)^(b*0x9e3779b97f4a7c15)) ^ mix64(c+0x632be59bd9b4e019)
}

func unit(seed, a, b, c uint64) float64 {
	return float64(hash(seed, a, b, c)>>11) / (1 << 53)
}

// texWeight spreads the shared texture field over the bands.
var texWeight = [6]float64{0.6, 0.8, 1, 1.4, -0.9, 0.7}

// irwinHall is an approximately standard normal deviate from 10 bits of a
// hash: the sum of two 5-bit uniforms, centred and scaled (cheap, bounded,
// and enough for sensor noise).
func irwinHall(h uint64) float64 {
	a := float64(h&31) / 31
	b := float64((h>>5)&31) / 31
	return (a + b - 1) * 2.449
}

// gauss is a standard normal deviate from a hash (Box–Muller).
func gauss(seed, a, b, c uint64) float64 {
	h := hash(seed, a, b, c)
	u1 := (float64(h>>40) + 0.5) / (1 << 24)
	u2 := (float64(h&0xffffff) + 0.5) / (1 << 24)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Grid is the scene's georeferencing: a 10 m UTM 33N grid.
func (s Scene) Grid() (crs string, transform [6]float64) {
	return "EPSG:32633", [6]float64{500000, 10, 0, 5000000, 0, -10}
}

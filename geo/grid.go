package geo

import (
	"fmt"
	"math"
)

// Grid is a georeferenced raster grid. Transform maps pixel corners to CRS
// coordinates in GDAL order: x = T0 + col*T1 + row*T2, y = T3 + col*T4 + row*T5.
type Grid struct {
	CRS           *CRS
	Width, Height int
	Transform     [6]float64
}

// Window is a rectangle of pixels: columns X..X+W-1, rows Y..Y+H-1.
type Window struct{ X, Y, W, H int }

// Empty reports whether the window has no pixels.
func (w Window) Empty() bool { return w.W <= 0 || w.H <= 0 }

// Intersect returns the common part of two windows (empty when disjoint).
func (w Window) Intersect(o Window) Window {
	x0, y0 := max(w.X, o.X), max(w.Y, o.Y)
	x1, y1 := min(w.X+w.W, o.X+o.W), min(w.Y+w.H, o.Y+o.H)
	if x1 <= x0 || y1 <= y0 {
		return Window{}
	}
	return Window{x0, y0, x1 - x0, y1 - y0}
}

// Full returns the window covering the whole grid.
func (g Grid) Full() Window { return Window{0, 0, g.Width, g.Height} }

// Validate checks the grid: a CRS, positive size and an invertible transform.
func (g Grid) Validate() error {
	if g.CRS == nil {
		return fmt.Errorf("geo: grid without CRS")
	}
	if g.Width <= 0 || g.Height <= 0 {
		return fmt.Errorf("geo: grid size %dx%d", g.Width, g.Height)
	}
	if _, ok := invertGT(g.Transform); !ok {
		return fmt.Errorf("geo: grid transform %v is not invertible", g.Transform)
	}
	return nil
}

// PixelToCRS maps pixel coordinates (col, row; 0,0 = top-left corner) to CRS
// coordinates.
func (g Grid) PixelToCRS(col, row float64) (x, y float64) {
	t := &g.Transform
	return t[0] + col*t[1] + row*t[2], t[3] + col*t[4] + row*t[5]
}

// invertGT inverts a GDAL geotransform.
func invertGT(t [6]float64) ([6]float64, bool) {
	det := t[1]*t[5] - t[2]*t[4]
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return [6]float64{}, false
	}
	if t[2] == 0 && t[4] == 0 { // the usual north-up case, as GDALInvGeoTransform
		return [6]float64{-t[0] / t[1], 1 / t[1], 0, -t[3] / t[5], 0, 1 / t[5]}, true
	}
	inv := 1 / det
	return [6]float64{
		(t[2]*t[3] - t[0]*t[5]) * inv, t[5] * inv, -t[2] * inv,
		(-t[1]*t[3] + t[0]*t[4]) * inv, -t[4] * inv, t[1] * inv,
	}, true
}

func applyGT(t *[6]float64, x, y float64) (float64, float64) {
	return t[0] + x*t[1] + y*t[2], t[3] + x*t[4] + y*t[5]
}

// pixelMapper maps destination pixel coordinates to source pixel
// coordinates, as GDAL's GenImgProj transformer does (dst pixel -> dst CRS
// -> src CRS -> src pixel).
type pixelMapper struct {
	dstGT, srcInv [6]float64
	tr            *Transformer // nil when both grids share the CRS
}

func newPixelMapper(dst, src Grid) (*pixelMapper, error) {
	if err := dst.Validate(); err != nil {
		return nil, fmt.Errorf("geo: destination: %w", err)
	}
	if err := src.Validate(); err != nil {
		return nil, fmt.Errorf("geo: source: %w", err)
	}
	m := &pixelMapper{dstGT: dst.Transform}
	m.srcInv, _ = invertGT(src.Transform)
	if !dst.CRS.Equal(src.CRS) {
		tr, err := NewTransformer(dst.CRS, src.CRS)
		if err != nil {
			return nil, err
		}
		m.tr = tr
	}
	return m, nil
}

// exact maps one point; ok=false when it cannot be transformed.
func (m *pixelMapper) exact(x, y float64) (float64, float64, bool) {
	x, y = applyGT(&m.dstGT, x, y)
	if m.tr != nil {
		var ok bool
		if x, y, ok = m.tr.point(x, y); !ok {
			return math.NaN(), math.NaN(), false
		}
	}
	x, y = applyGT(&m.srcInv, x, y)
	return x, y, true
}

// row maps the n points (x0+i, y), i < n, into sx, sy. With maxErr > 0 it
// approximates like GDAL's approximating transformer: the ends and middle
// are transformed exactly and the rest interpolated linearly when the
// interpolation error at the middle is at most maxErr (in source pixels),
// else both halves are handled recursively. Failed points are NaN.
func (m *pixelMapper) row(x0, y float64, sx, sy []float64, maxErr float64) {
	n := len(sx)
	if n == 0 {
		return
	}
	if maxErr <= 0 || n <= 5 {
		m.exactRange(x0, y, sx, sy, 0, n)
		return
	}
	mid := (n - 1) / 2
	var p [3][2]float64
	for k, i := range [3]int{0, mid, n - 1} {
		var ok bool
		if p[k][0], p[k][1], ok = m.exact(x0+float64(i), y); !ok {
			m.exactRange(x0, y, sx, sy, 0, n)
			return
		}
	}
	m.approx(x0, y, sx, sy, 0, n, p, maxErr)
}

func (m *pixelMapper) exactRange(x0, y float64, sx, sy []float64, i0, i1 int) {
	for i := i0; i < i1; i++ {
		sx[i], sy[i], _ = m.exact(x0+float64(i), y)
	}
}

// approx handles points i0..i1-1 given the exact transforms p of the first,
// middle ((n-1)/2) and last of them.
func (m *pixelMapper) approx(x0, y float64, sx, sy []float64, i0, i1 int, p [3][2]float64, maxErr float64) {
	n := i1 - i0
	if n <= 5 {
		m.exactRange(x0, y, sx, sy, i0, i1)
		return
	}
	mid := (n - 1) / 2
	span := float64(n - 1)
	dx := (p[2][0] - p[0][0]) / span
	dy := (p[2][1] - p[0][1]) / span
	e := math.Abs(p[0][0]+dx*float64(mid)-p[1][0]) + math.Abs(p[0][1]+dy*float64(mid)-p[1][1])
	if e > maxErr {
		// Halves [i0, i0+mid) and [i0+mid, i1), each with its own ends and
		// middle transformed exactly.
		n1 := mid
		n2 := n - mid
		var a, b [3][2]float64
		a[0], b[0], b[2] = p[0], p[1], p[2]
		var ok [3]bool
		a[1][0], a[1][1], ok[0] = m.exact(x0+float64(i0+(n1-1)/2), y)
		a[2][0], a[2][1], ok[1] = m.exact(x0+float64(i0+n1-1), y)
		b[1][0], b[1][1], ok[2] = m.exact(x0+float64(i0+mid+(n2-1)/2), y)
		if !ok[0] || !ok[1] || !ok[2] {
			m.exactRange(x0, y, sx, sy, i0, i1)
			return
		}
		m.approx(x0, y, sx, sy, i0, i0+mid, a, maxErr)
		m.approx(x0, y, sx, sy, i0+mid, i1, b, maxErr)
		return
	}
	for i := 0; i < n; i++ {
		sx[i0+i] = p[0][0] + dx*float64(i)
		sy[i0+i] = p[0][1] + dy*float64(i)
	}
}

// SourceWindow returns the source pixel window needed to fill the
// destination window win of dst from src: the window's edges (densified)
// and interior samples are transformed into source pixels, the bounding box
// is widened by margin pixels on each side and clipped to the source grid.
// ok is false when the window does not overlap the source.
func SourceWindow(dst Grid, win Window, src Grid, margin int) (Window, bool) {
	m, err := newPixelMapper(dst, src)
	if err != nil || win.Empty() {
		return Window{}, false
	}
	const steps = 20
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	add := func(x, y float64) {
		sx, sy, ok := m.exact(x, y)
		if !ok {
			return
		}
		minX, maxX = math.Min(minX, sx), math.Max(maxX, sx)
		minY, maxY = math.Min(minY, sy), math.Max(maxY, sy)
	}
	x0, y0 := float64(win.X), float64(win.Y)
	w, h := float64(win.W), float64(win.H)
	for i := 0; i <= steps; i++ {
		f := float64(i) / steps
		add(x0+f*w, y0)
		add(x0+f*w, y0+h)
		add(x0, y0+f*h)
		add(x0+w, y0+f*h)
	}
	for i := 1; i < steps; i += 2 { // interior samples, for edges that fail to transform
		for j := 1; j < steps; j += 2 {
			add(x0+float64(i)/steps*w, y0+float64(j)/steps*h)
		}
	}
	if math.IsInf(minX, 0) {
		return Window{}, false
	}
	// Guard against absurd values before converting to int.
	lim := float64(src.Width + src.Height + margin + 1)
	clamp := func(v float64) float64 { return math.Max(-lim, math.Min(lim+float64(src.Width+src.Height), v)) }
	ix0 := int(math.Floor(clamp(minX))) - margin
	iy0 := int(math.Floor(clamp(minY))) - margin
	ix1 := int(math.Ceil(clamp(maxX))) + margin
	iy1 := int(math.Ceil(clamp(maxY))) + margin
	r := Window{ix0, iy0, ix1 - ix0, iy1 - iy0}.Intersect(src.Full())
	return r, !r.Empty()
}

package geo

import (
	"fmt"
	"math"
)

// Method is a resampling method.
type Method uint8

// Resampling methods (gdalwarp -r near, bilinear, average, mode).
const (
	Nearest Method = iota
	Bilinear
	Average
	Mode
)

func (m Method) String() string {
	switch m {
	case Nearest:
		return "nearest"
	case Bilinear:
		return "bilinear"
	case Average:
		return "average"
	case Mode:
		return "mode"
	}
	return fmt.Sprintf("method(%d)", uint8(m))
}

// DefaultErrorThreshold is gdalwarp's default approximation error (-et), in
// source pixels.
const DefaultErrorThreshold = 0.125

// Number is a pixel element type.
type Number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

// Warper resamples windows of a destination grid from a source grid. It is
// safe for concurrent use.
type Warper struct {
	dst, src Grid
	m        *pixelMapper
	// ErrorThreshold is the approximation error allowed, in source pixels;
	// 0 transforms every pixel exactly.
	ErrorThreshold float64
}

// NewWarper prepares resampling from src to dst.
func NewWarper(dst, src Grid) (*Warper, error) {
	m, err := newPixelMapper(dst, src)
	if err != nil {
		return nil, err
	}
	return &Warper{dst: dst, src: src, m: m, ErrorThreshold: DefaultErrorThreshold}, nil
}

// Resample fills the destination window win of dst from the pixels of the
// source window srcWin of src. See Warper.Resample.
func Resample(dst Grid, win Window, src Grid, srcWin Window, srcData any, method Method, srcNodata *float64, out any, dstNodata float64) error {
	w, err := NewWarper(dst, src)
	if err != nil {
		return err
	}
	return w.Resample(win, srcWin, srcData, method, srcNodata, out, dstNodata)
}

// Resample fills out (win.W*win.H row-major values) for the destination
// window win from srcData (srcWin.W*srcWin.H row-major values of the source
// window srcWin, typically from SourceWindow with margin 1). srcData and out
// must be slices of the same element type (see Number). Source pixels equal
// to *srcNodata (when not nil), NaN, or outside srcWin are invalid;
// destination pixels without a valid source get dstNodata.
func (w *Warper) Resample(win, srcWin Window, srcData any, method Method, srcNodata *float64, out any, dstNodata float64) error {
	switch s := srcData.(type) {
	case []uint8:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []int8:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []uint16:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []int16:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []uint32:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []int32:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []float32:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	case []float64:
		return resampleT(w, win, srcWin, s, method, srcNodata, out, dstNodata)
	}
	return fmt.Errorf("geo: Resample: unsupported source buffer type %T", srcData)
}

func resampleT[T Number](w *Warper, win, srcWin Window, src []T, method Method, srcNodata *float64, outAny any, dstNodata float64) error {
	out, ok := outAny.([]T)
	if !ok {
		return fmt.Errorf("geo: Resample: output %T does not match source []%T", outAny, *new(T))
	}
	if win.W < 0 || win.H < 0 || srcWin.W < 0 || srcWin.H < 0 {
		return fmt.Errorf("geo: Resample: negative window size")
	}
	if len(out) != win.W*win.H {
		return fmt.Errorf("geo: Resample: output has %d values, window %dx%d needs %d", len(out), win.W, win.H, win.W*win.H)
	}
	if len(src) != srcWin.W*srcWin.H {
		return fmt.Errorf("geo: Resample: source has %d values, window %dx%d needs %d", len(src), srcWin.W, srcWin.H, srcWin.W*srcWin.H)
	}
	lo, hi := typeRange[T]()
	k := kernel[T]{lo: lo, hi: hi,
		src: src, sw: srcWin.W, sh: srcWin.H, sx0: float64(srcWin.X), sy0: float64(srcWin.Y),
		out: out, dstNodata: fromFloat[T](dstNodata),
		isInt: isIntType[T](),
	}
	if srcNodata != nil {
		k.hasNodata, k.nd = true, *srcNodata
	}
	for i := range out {
		out[i] = k.dstNodata
	}
	if win.Empty() || srcWin.Empty() {
		return nil
	}
	switch method {
	case Nearest, Bilinear:
		sx, sy := make([]float64, win.W), make([]float64, win.W)
		for r := 0; r < win.H; r++ {
			w.m.row(float64(win.X)+0.5, float64(win.Y+r)+0.5, sx, sy, w.ErrorThreshold)
			row := out[r*win.W : (r+1)*win.W]
			if method == Nearest {
				k.nearestRow(sx, sy, row)
			} else {
				k.bilinearRow(sx, sy, row)
			}
		}
	case Average, Mode:
		// Corner rows: top-left corners of row r are corners r, bottom-right
		// corners of row r are corners r+1 shifted by one column.
		n := win.W + 1
		ax, ay := make([]float64, n), make([]float64, n)
		bx, by := make([]float64, n), make([]float64, n)
		w.m.row(float64(win.X), float64(win.Y), ax, ay, w.ErrorThreshold)
		var hist modeCounter[T]
		for r := 0; r < win.H; r++ {
			w.m.row(float64(win.X), float64(win.Y+r+1), bx, by, w.ErrorThreshold)
			row := out[r*win.W : (r+1)*win.W]
			for c := range row {
				x0, y0, x1, y1 := ax[c], ay[c], bx[c+1], by[c+1]
				if method == Average {
					k.average(x0, y0, x1, y1, &row[c])
				} else {
					k.mode(x0, y0, x1, y1, &row[c], &hist)
				}
			}
			ax, ay, bx, by = bx, by, ax, ay
		}
	default:
		return fmt.Errorf("geo: Resample: unknown method %v", method)
	}
	return nil
}

// kernel holds one Resample call's buffers.
type kernel[T Number] struct {
	src       []T
	sw, sh    int
	sx0, sy0  float64 // source window origin in source pixels
	hasNodata bool
	nd        float64
	out       []T
	dstNodata T
	isInt     bool
	lo, hi    float64 // range of an integer T
}

func (k *kernel[T]) valid(v T) bool {
	f := float64(v)
	return f == f && (!k.hasNodata || f != k.nd)
}

const gdalEps = 1e-10 // GDAL's tolerance when truncating source coordinates

func (k *kernel[T]) nearestRow(sx, sy []float64, row []T) {
	for i := range row {
		x, y := sx[i]-k.sx0, sy[i]-k.sy0
		// Compare before truncating so that -0.5 is not taken as pixel 0
		// (NaN fails the test too).
		if !(x >= 0 && y >= 0) {
			continue
		}
		ix, iy := int(x+gdalEps), int(y+gdalEps)
		if ix >= k.sw || iy >= k.sh {
			continue
		}
		if v := k.src[iy*k.sw+ix]; k.valid(v) {
			row[i] = v
		}
	}
}

func (k *kernel[T]) bilinearRow(sx, sy []float64, row []T) {
	for i := range row {
		x, y := sx[i]-k.sx0, sy[i]-k.sy0
		if !(x >= 0 && y >= 0) || x+gdalEps >= float64(k.sw) || y+gdalEps >= float64(k.sh) {
			continue
		}
		ix, iy := int(math.Floor(x-0.5)), int(math.Floor(y-0.5))
		rx, ry := 1.5-(x-float64(ix)), 1.5-(y-float64(iy))
		if ix >= 0 && iy >= 0 && ix+1 < k.sw && iy+1 < k.sh {
			// All four inside: GDAL's separable formula when they are valid.
			o := iy*k.sw + ix
			a, b, c, d := k.src[o], k.src[o+1], k.src[o+k.sw], k.src[o+k.sw+1]
			if k.valid(a) && k.valid(b) && k.valid(c) && k.valid(d) {
				row[i] = k.round((float64(a)*rx+float64(b)*(1-rx))*ry + (float64(c)*rx+float64(d)*(1-rx))*(1-ry))
				continue
			}
		}
		// Like GDAL, the pixel containing the point must be valid (it is one
		// of the four above, so this is only needed here).
		if !k.valid(k.src[int(y+gdalEps)*k.sw+int(x+gdalEps)]) {
			continue
		}
		var acc, div float64
		add := func(px, py int, wt float64) {
			if px < 0 || py < 0 || px >= k.sw || py >= k.sh || wt == 0 {
				return
			}
			if v := k.src[py*k.sw+px]; k.valid(v) {
				acc += float64(v) * wt
				div += wt
			}
		}
		add(ix, iy, rx*ry)
		add(ix+1, iy, (1-rx)*ry)
		add(ix+1, iy+1, (1-rx)*(1-ry))
		add(ix, iy+1, rx*(1-ry))
		if div < 1e-5 {
			continue
		}
		if div != 1 {
			acc /= div
		}
		row[i] = k.round(acc)
	}
}

// footprint returns the source pixel range [x0,x1)x[y0,y1) covered by the
// destination pixel whose corners map to (fx0,fy0) and (fx1,fy1), as
// gdalwarp's average/mode kernel computes it, with the footprint in window
// coordinates. ok is false when it misses the window.
func (k *kernel[T]) footprint(fx0, fy0, fx1, fy1 float64) (ix0, iy0, ix1, iy1 int, x0, y0, x1, y1 float64, ok bool) {
	x0, y0, x1, y1 = fx0-k.sx0, fy0-k.sy0, fx1-k.sx0, fy1-k.sy0
	if x0 > x1 {
		x0, x1 = x1, x0
	}
	if y0 > y1 {
		y0, y1 = y1, y0
	}
	w, h := float64(k.sw), float64(k.sh)
	if !(x1 > -gdalEps && x0 < w+gdalEps && y1 > -gdalEps && y0 < h+gdalEps) {
		return 0, 0, 0, 0, 0, 0, 0, 0, false
	}
	ix0 = int(max(math.Floor(x0+gdalEps), 0))
	iy0 = int(max(math.Floor(y0+gdalEps), 0))
	ix1 = int(min(math.Ceil(x1-gdalEps), w))
	iy1 = int(min(math.Ceil(y1-gdalEps), h))
	if ix0 == ix1 && ix1 < k.sw {
		ix1++
	}
	if iy0 == iy1 && iy1 < k.sh {
		iy1++
	}
	return ix0, iy0, ix1, iy1, x0, y0, x1, y1, ix0 < ix1 && iy0 < iy1
}

// overlap is the length of [i, i+1] inside [a, b], or 1 when the footprint
// is degenerate along this axis.
func overlap(i int, a, b float64) float64 {
	if b-a < gdalEps {
		return 1
	}
	return max(0, min(float64(i+1), b)-max(float64(i), a))
}

func (k *kernel[T]) average(fx0, fy0, fx1, fy1 float64, dst *T) {
	ix0, iy0, ix1, iy1, x0, y0, x1, y1, ok := k.footprint(fx0, fy0, fx1, fy1)
	if !ok {
		return
	}
	if ix1-ix0 == 1 && iy1-iy0 == 1 { // upsampling: one source pixel
		if v := k.src[iy0*k.sw+ix0]; k.valid(v) {
			*dst = v
		}
		return
	}
	var sum, wsum float64
	for y := iy0; y < iy1; y++ {
		wy := overlap(y, y0, y1)
		if wy == 0 {
			continue
		}
		line := k.src[y*k.sw : (y+1)*k.sw]
		for x := ix0; x < ix1; x++ {
			v := line[x]
			if !k.valid(v) {
				continue
			}
			wt := wy * overlap(x, x0, x1)
			sum += float64(v) * wt
			wsum += wt
		}
	}
	if wsum < 1e-10 {
		return
	}
	*dst = k.round(sum / wsum)
}

// modeCounter counts values in a footprint, keeping first-seen order.
type modeCounter[T Number] struct {
	vals   []T
	counts []int
}

func (k *kernel[T]) mode(fx0, fy0, fx1, fy1 float64, dst *T, h *modeCounter[T]) {
	ix0, iy0, ix1, iy1, _, _, _, _, ok := k.footprint(fx0, fy0, fx1, fy1)
	if !ok {
		return
	}
	if ix1-ix0 == 1 && iy1-iy0 == 1 {
		if v := k.src[iy0*k.sw+ix0]; k.valid(v) {
			*dst = v
		}
		return
	}
	h.vals, h.counts = h.vals[:0], h.counts[:0]
	for y := iy0; y < iy1; y++ {
		line := k.src[y*k.sw : (y+1)*k.sw]
	next:
		for x := ix0; x < ix1; x++ {
			v := line[x]
			if !k.valid(v) {
				continue
			}
			for j, u := range h.vals {
				if u == v {
					h.counts[j]++
					continue next
				}
			}
			h.vals = append(h.vals, v)
			h.counts = append(h.counts, 1)
		}
	}
	best := -1 // ties go to the value seen first, as gdalwarp -r mode
	for j, c := range h.counts {
		if best < 0 || c > h.counts[best] {
			best = j
		}
	}
	if best >= 0 {
		*dst = h.vals[best]
	}
}

// round converts a computed value to T: integers are rounded half up and
// clamped to the type's range, as GDAL does.
func (k *kernel[T]) round(v float64) T {
	if !k.isInt {
		return T(v)
	}
	return T(max(k.lo, min(k.hi, math.Floor(v+0.5))))
}

// typeRange returns the range of an integer T (infinite for floats).
func typeRange[T Number]() (float64, float64) {
	var z T
	switch any(z).(type) {
	case uint8:
		return 0, math.MaxUint8
	case int8:
		return math.MinInt8, math.MaxInt8
	case uint16:
		return 0, math.MaxUint16
	case int16:
		return math.MinInt16, math.MaxInt16
	case uint32:
		return 0, math.MaxUint32
	case int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.Inf(-1), math.Inf(1)
}

// fromFloat converts v to T, clamping integers to the type's range (NaN
// becomes 0 for integers).
func fromFloat[T Number](v float64) T {
	lo, hi := typeRange[T]()
	if v != v && !math.IsInf(lo, 0) {
		return 0
	}
	if math.IsInf(lo, 0) {
		return T(v)
	}
	return T(max(lo, min(hi, v)))
}

func isIntType[T Number]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return false
	}
	return true
}

package tiff

import "math"

// Overview resampling, matching GDAL's overview code (gcore/overview.cpp):
// each level is computed from the previous one (GDAL cascades levels for
// the COG driver), with the destination-to-source ratio srcSize/dstSize
// that is slightly above 2 when the source size is odd.

// srcWin is the source span [s, e) of one destination pixel along one
// axis, with the weights of its first (wl) and last (wr) source pixels.
type srcWin struct {
	s, e   int
	wl, wr float64
}

// axisWindows returns the source window of every destination pixel along
// an axis of srcN source and dstN destination pixels.
func axisWindows(srcN, dstN int, average bool) []srcWin {
	r := float64(srcN) / float64(dstN)
	ws := make([]srcWin, dstN)
	for i := range ws {
		if !average {
			// GDALResampleChunk_Near: the source pixel under the
			// destination pixel's top-left corner, rounded.
			s := min(int(0.5+float64(i)*r), srcN-1)
			ws[i] = srcWin{s, s + 1, 1, 1}
			continue
		}
		// GDALResampleChunk_AverageOrRMS: partly covered edge pixels
		// are weighted by their covered fraction.
		off, off2 := float64(i)*r, float64(i+1)*r
		s := int(off + 1e-8)
		e := int(math.Ceil(off2 - 1e-8))
		if e == s {
			e++
		}
		e = min(e, srcN)
		wl := 1.0
		if e != s+1 {
			wl = 1 - (off - float64(s))
		}
		ws[i] = srcWin{s, e, wl, 1 - (float64(e) - off2)}
	}
	return ws
}

// span returns the source span covered by destination pixels [i0, i1).
func span(ws []srcWin, i0, i1 int) (int, int) {
	return ws[i0].s, ws[i1-1].e
}

// resampleJob describes one destination tile computed from a source region.
type resampleJob struct {
	src       []byte // source region, chunky
	srcX0     int    // region origin in source-level pixels
	srcY0     int
	srcStride int      // region width in pixels
	dst       []byte   // destination tile, chunky
	dstStride int      // tile width in pixels
	xw, yw    []srcWin // windows of the tile's valid columns and rows
	spp, size int
}

// nearest copies the selected source pixels.
func (j *resampleJob) nearest() {
	pix := j.spp * j.size
	for r, yw := range j.yw {
		srow := j.src[(yw.s-j.srcY0)*j.srcStride*pix:]
		drow := j.dst[r*j.dstStride*pix:]
		for c, xw := range j.xw {
			copy(drow[c*pix:(c+1)*pix], srow[(xw.s-j.srcX0)*pix:])
		}
	}
}

// average dispatches the weighted average on the data type.
func (j *resampleJob) average(d DType, nodata *float64) {
	switch d {
	case Uint8:
		averageT[uint8](j, nodata, true)
	case Int8:
		averageT[int8](j, nodata, true)
	case Uint16:
		averageT[uint16](j, nodata, true)
	case Int16:
		averageT[int16](j, nodata, true)
	case Uint32:
		averageT[uint32](j, nodata, true)
	case Int32:
		averageT[int32](j, nodata, true)
	case Float32:
		averageT[float32](j, nodata, false)
	case Float64:
		averageT[float64](j, nodata, false)
	}
}

type sampleType interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

// averageT averages each destination pixel's weighted source window,
// leaving out nodata pixels; a window with no valid pixel gives nodata.
// Integers are rounded to nearest, halves away from zero, as GDAL does.
func averageT[T sampleType](j *resampleJob, nodata *float64, isInt bool) {
	src, dst := asSlice[T](j.src), asSlice[T](j.dst)
	spp := j.spp
	hasND := nodata != nil
	var nd float64
	var ndT T
	ndNaN := false
	if hasND {
		nd = *nodata
		ndT = T(nd)
		ndNaN = math.IsNaN(nd)
	}
	lo, hi := typeRange[T]()
	var z T
	viaF32 := false
	switch any(z).(type) {
	case int8, int16:
		viaF32 = true
	}
	for r, yw := range j.yw {
		drow := dst[r*j.dstStride*spp:]
		for c, xw := range j.xw {
			for b := 0; b < spp; b++ {
				var total, weight float64
				for y := yw.s; y < yw.e; y++ {
					wy := 1.0
					if y == yw.s {
						wy = yw.wl
					} else if y == yw.e-1 {
						wy = yw.wr
					}
					row := src[(y-j.srcY0)*j.srcStride*spp+b:]
					var tl, wl float64
					for x := xw.s; x < xw.e; x++ {
						v := float64(row[(x-j.srcX0)*spp])
						if hasND && (v == nd || (ndNaN && v != v)) {
							continue
						}
						wx := 1.0
						if x == xw.s {
							wx = xw.wl
						} else if x == xw.e-1 {
							wx = xw.wr
						}
						tl += v * wx
						wl += wx
					}
					total += tl * wy
					weight += wl * wy
				}
				var out T
				switch {
				case weight == 0 && hasND:
					out = ndT
				case isInt:
					// Half away from zero, as GDAL's conversion
					// from its floating-point working type.
					// GDAL averages int8 and int16 through a float32
					// working buffer.
					m := total / weight
					if viaF32 {
						m = float64(float32(m))
					}
					v := math.Round(m)
					out = T(min(max(v, lo), hi))
				default:
					out = T(total / weight)
				}
				drow[c*spp+b] = out
			}
		}
	}
}

// typeRange is the range of an integer sample type (unused for floats).
func typeRange[T sampleType]() (float64, float64) {
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

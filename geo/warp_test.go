package geo

import (
	"math"
	"testing"
)

const (
	worldCoverCrop = realData + "/worldcover-n00e006/ESA_WorldCover_10m_2021_v200_N00E006_Map_saotome_2048.tif"
	s2B11          = realData + "/s2-l2a-29rkh/B11.tif"
	s2B02          = realData + "/s2-l2a-29rkh/B02.tif"
)

// cropWindow copies window w out of a row-major buffer of width stride.
func cropWindow[T any](data []T, stride int, w Window) []T {
	out := make([]T, 0, w.W*w.H)
	for y := w.Y; y < w.Y+w.H; y++ {
		out = append(out, data[y*stride+w.X:y*stride+w.X+w.W]...)
	}
	return out
}

// warpChunks reprojects dst chunk by chunk (chunk x chunk windows), reading
// for each only its SourceWindow, as a streaming pipeline does.
func warpChunks[T Number](t testing.TB, dst, src Grid, srcData []T, method Method, nodata *float64, dstNodata float64, chunk int) []T {
	t.Helper()
	w, err := NewWarper(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]T, dst.Width*dst.Height)
	for y := 0; y < dst.Height; y += chunk {
		for x := 0; x < dst.Width; x += chunk {
			win := Window{x, y, min(chunk, dst.Width-x), min(chunk, dst.Height-y)}
			buf := make([]T, win.W*win.H)
			sw, ok := SourceWindow(dst, win, src, 1)
			if ok {
				if err := w.Resample(win, sw, cropWindow(srcData, src.Width, sw), method, nodata, buf, dstNodata); err != nil {
					t.Fatal(err)
				}
			} else {
				for i := range buf {
					buf[i] = T(dstNodata)
				}
			}
			for r := 0; r < win.H; r++ {
				copy(out[(win.Y+r)*dst.Width+win.X:], buf[r*win.W:(r+1)*win.W])
			}
		}
	}
	return out
}

// agreement returns the fraction of equal values and the largest absolute
// difference.
func agreement[T Number](got, want []T) (float64, float64) {
	same := 0
	var maxDiff float64
	for i := range got {
		if got[i] == want[i] {
			same++
		}
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
	}
	return float64(same) / float64(len(got)), maxDiff
}

func worldCoverSetup(t *testing.T) (*gdalRaster, Grid, Grid) {
	needGDAL(t, "gdalwarp")
	needFile(t, worldCoverCrop)
	r := readGDAL(t, worldCoverCrop)
	src := r.grid(t)
	utm, err := Parse("EPSG:32632")
	if err != nil {
		t.Fatal(err)
	}
	return r, src, gridCovering(t, src, utm, 10)
}

// TestWarpWorldCoverVsGDAL reprojects the WorldCover crop (EPSG:4326) onto a
// 10 m UTM 32N grid and compares with gdalwarp -r near / -r mode.
func TestWarpWorldCoverVsGDAL(t *testing.T) {
	r, src, dst := worldCoverSetup(t)
	nodata := 0.0
	for _, tc := range []struct {
		method  Method
		gdal    string
		minFrac float64
	}{{Nearest, "near", 0.999}, {Mode, "mode", 0.999}} {
		want := gdalwarp(t, worldCoverCrop, dst, tc.gdal).uint8s()
		for _, chunk := range []int{max(dst.Width, dst.Height), 256} {
			got := warpChunks(t, dst, src, r.uint8s(), tc.method, &nodata, 0, chunk)
			frac, _ := agreement(got, want)
			t.Logf("%v 4326->32632 %dx%d, chunks of %d: %.5f%% identical to gdalwarp -r %s",
				tc.method, dst.Width, dst.Height, chunk, 100*frac, tc.gdal)
			if frac < tc.minFrac {
				t.Errorf("%v: agreement %.5f below %.4f", tc.method, frac, tc.minFrac)
			}
		}
	}
}

// TestWarpS2SameCRS resamples the 20 m-class band B11 (200 m here) onto the
// B02 grid (100 m) and compares with gdalwarp.
func TestWarpS2SameCRS(t *testing.T) {
	needGDAL(t, "gdalwarp")
	needFile(t, s2B11)
	needFile(t, s2B02)
	b11 := readGDAL(t, s2B11)
	src := b11.grid(t)
	dst := readGDAL(t, s2B02).grid(t)
	nodata := 0.0
	// Bilinear results that are exactly k+0.5 round either way depending on
	// the last bit of the source coordinates, so about 0.4 % of pixels
	// differ from gdalwarp by 1 DN; none differs by more.
	for _, tc := range []struct {
		method  Method
		gdal    string
		minFrac float64
		maxDiff float64
	}{{Nearest, "near", 0.999, math.Inf(1)}, {Bilinear, "bilinear", 0.99, 1}, {Average, "average", 0.999, 1}} {
		want := gdalwarp(t, s2B11, dst, tc.gdal).uint16s()
		got := warpChunks(t, dst, src, b11.uint16s(), tc.method, &nodata, 0, 256)
		frac, maxDiff := agreement(got, want)
		t.Logf("%v B11 200 m -> B02 100 m grid: %.5f%% identical to gdalwarp -r %s, max abs diff %g",
			tc.method, 100*frac, tc.gdal, maxDiff)
		if frac < tc.minFrac || maxDiff > tc.maxDiff {
			t.Errorf("%v: agreement %.5f (min %.4f), max diff %g (max %g)", tc.method, frac, tc.minFrac, maxDiff, tc.maxDiff)
		}
	}
}

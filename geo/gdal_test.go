package geo

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Helpers that use GDAL (python3 osgeo and the command-line tools) as the
// reference. Tests using them skip when GDAL or the real data is absent.

const python = "/usr/bin/python3"

func needGDAL(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("GDAL tool %s not installed", tool)
		}
	}
	if err := exec.Command(python, "-c", "from osgeo import gdal").Run(); err != nil {
		t.Skipf("python3 osgeo (GDAL bindings) not available: %v", err)
	}
}

func needFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data absent (%s): %v", path, err)
	}
}

// gdalRaster is band 1 of a raster as read by GDAL.
type gdalRaster struct {
	Width, Height int
	GT            [6]float64
	EPSG          string
	Proj4         string
	Nodata        *float64
	DType         string
	data          []byte
}

const readScript = `
import sys, json
from osgeo import gdal, osr
ds = gdal.Open(sys.argv[1])
b = ds.GetRasterBand(1)
a = b.ReadAsArray()
open(sys.argv[2], 'wb').write(a.astype(a.dtype.newbyteorder('<')).tobytes())
srs = osr.SpatialReference(wkt=ds.GetProjection())
code = srs.GetAuthorityCode(None) if srs.GetAuthorityName(None) == 'EPSG' else None
print(json.dumps(dict(Width=ds.RasterXSize, Height=ds.RasterYSize, GT=list(ds.GetGeoTransform()),
    EPSG=code or '', Proj4=srs.ExportToProj4(), Nodata=b.GetNoDataValue(), DType=str(a.dtype))))
`

func readGDAL(t testing.TB, path string) *gdalRaster {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "pixels.raw")
	out, err := exec.Command(python, "-c", readScript, path, raw).Output()
	if err != nil {
		t.Fatalf("reading %s with GDAL: %v", path, err)
	}
	var r gdalRaster
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("GDAL output %q: %v", out, err)
	}
	if r.data, err = os.ReadFile(raw); err != nil {
		t.Fatal(err)
	}
	return &r
}

func (r *gdalRaster) grid(t testing.TB) Grid {
	t.Helper()
	s := r.Proj4
	if r.EPSG != "" {
		s = "EPSG:" + r.EPSG
	}
	c, err := Parse(s)
	if err != nil {
		t.Fatalf("CRS %q: %v", s, err)
	}
	return Grid{CRS: c, Width: r.Width, Height: r.Height, Transform: r.GT}
}

func (r *gdalRaster) uint8s() []uint8 { return r.data }

func (r *gdalRaster) uint16s() []uint16 {
	v := make([]uint16, len(r.data)/2)
	for i := range v {
		v[i] = binary.LittleEndian.Uint16(r.data[2*i:])
	}
	return v
}

// gdalwarp runs gdalwarp onto grid g and reads the result.
func gdalwarp(t testing.TB, src string, g Grid, resampling string, extra ...string) *gdalRaster {
	t.Helper()
	out := filepath.Join(t.TempDir(), "warped.tif")
	minx, maxy := g.PixelToCRS(0, 0)
	maxx, miny := g.PixelToCRS(float64(g.Width), float64(g.Height))
	args := []string{"-q", "-overwrite", "-ovr", "NONE", "-t_srs", g.CRS.String(),
		"-te", fmt.Sprint(minx), fmt.Sprint(miny), fmt.Sprint(maxx), fmt.Sprint(maxy),
		"-ts", fmt.Sprint(g.Width), fmt.Sprint(g.Height), "-r", resampling}
	args = append(append(args, extra...), src, out)
	if b, err := exec.Command("gdalwarp", args...).CombinedOutput(); err != nil {
		t.Fatalf("gdalwarp %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	r := readGDAL(t, out)
	if r.Width != g.Width || r.Height != g.Height {
		t.Fatalf("gdalwarp made %dx%d, want %dx%d", r.Width, r.Height, g.Width, g.Height)
	}
	return r
}

// gridCovering returns a north-up grid in crs with the given pixel size
// covering the source grid (its corners and edge midpoints), snapped to
// multiples of the pixel size.
func gridCovering(t testing.TB, src Grid, crs *CRS, res float64) Grid {
	t.Helper()
	tr, err := NewTransformer(src.CRS, crs)
	if err != nil {
		t.Fatal(err)
	}
	var xs, ys []float64
	for i := 0; i <= 10; i++ {
		f := float64(i) / 10
		for _, p := range [][2]float64{{f, 0}, {f, 1}, {0, f}, {1, f}} {
			x, y := src.PixelToCRS(p[0]*float64(src.Width), p[1]*float64(src.Height))
			xs, ys = append(xs, x), append(ys, y)
		}
	}
	if err := tr.Transform(xs, ys); err != nil {
		t.Fatal(err)
	}
	minx, miny, maxx, maxy := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i := range xs {
		minx, maxx = math.Min(minx, xs[i]), math.Max(maxx, xs[i])
		miny, maxy = math.Min(miny, ys[i]), math.Max(maxy, ys[i])
	}
	minx, miny = math.Floor(minx/res)*res, math.Floor(miny/res)*res
	maxx, maxy = math.Ceil(maxx/res)*res, math.Ceil(maxy/res)*res
	return Grid{CRS: crs, Width: int(math.Round((maxx - minx) / res)), Height: int(math.Round((maxy - miny) / res)),
		Transform: [6]float64{minx, res, 0, maxy, 0, -res}}
}

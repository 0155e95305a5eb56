package geo

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rasterflow/rasterflow/tiff"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/proj_golden.json from gdaltransform (PROJ)")

const (
	realData   = "../../shared/data/real"
	ncLCCFile  = realData + "/landsat7-nc-landclass96/landclass96.tif"
	goldenPath = "testdata/proj_golden.json"
)

// ncLCCKeys are the GeoKeys of landclass96.tif as stored in the file
// (GeoKeyDirectory / GeoDoubleParams / GeoAsciiParams tags).
func ncLCCKeys() tiff.GeoKeys {
	return tiff.GeoKeys{
		Short: map[uint16]uint16{
			tiff.GTModelTypeGeoKey: 1, tiff.GTRasterTypeGeoKey: 1, tiff.GeographicTypeGeoKey: 4269,
			tiff.GeogAngularUnitsGeoKey: 9102, tiff.ProjectedCSTypeGeoKey: 32767,
			tiff.ProjectionGeoKey: 32767, tiff.ProjCoordTransGeoKey: 8, tiff.ProjLinearUnitsGeoKey: 9001,
		},
		Double: map[uint16][]float64{
			tiff.GeogSemiMajorAxisGeoKey: {6378137.0}, tiff.GeogInvFlatteningGeoKey: {298.257222101},
			tiff.ProjStdParallel1GeoKey: {36.16666666666666}, tiff.ProjStdParallel2GeoKey: {34.33333333333334},
			tiff.ProjFalseOriginLongGeoKey: {-79.0}, tiff.ProjFalseOriginLatGeoKey: {33.75},
			tiff.ProjFalseOriginEastingGeoKey: {609601.22}, tiff.ProjFalseOriginNorthingGeoKey: {0.0},
		},
		ASCII: map[uint16]string{tiff.GTCitationGeoKey: "Lambert Conformal Conic", tiff.GeogCitationGeoKey: "grs80"},
	}
}

// projCase is one CRS pair checked against PROJ. src/dst are what this
// package parses ("keys:nc" means ncLCCKeys); gdalSrc/gdalDst what
// gdaltransform gets ("file:" prefixes a raster whose CRS is used).
type projCase struct {
	Name    string       `json:"name"`
	Src     string       `json:"src"`
	Dst     string       `json:"dst"`
	GdalSrc string       `json:"gdal_src"`
	GdalDst string       `json:"gdal_dst"`
	In      [][2]float64 `json:"in"`
	Out     [][2]float64 `json:"out"` // PROJ's result
}

func lonLatGrid(lon0, lon1, lat0, lat1 float64, n int) [][2]float64 {
	var pts [][2]float64
	for i := 0; i <= n; i++ {
		for j := 0; j <= n; j++ {
			pts = append(pts, [2]float64{lon0 + (lon1-lon0)*float64(i)/float64(n), lat0 + (lat1-lat0)*float64(j)/float64(n)})
		}
	}
	return pts
}

const tmercCustom = "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +ellps=WGS84 +units=m +no_defs"
const lcc1SP = "+proj=lcc +lat_1=18 +lat_0=18 +lon_0=-77 +k_0=0.9998 +x_0=250000 +y_0=150000 +ellps=WGS84 +units=m +no_defs"

// projCases lists the inputs; Out is filled from PROJ.
func projCases() []projCase {
	geo := func(name, dst string, pts [][2]float64) projCase {
		return projCase{Name: name, Src: "EPSG:4326", Dst: dst, GdalSrc: "EPSG:4326", GdalDst: dst, In: pts}
	}
	inv := func(name, src, dst string, pts [][2]float64) projCase {
		return projCase{Name: name, Src: src, Dst: dst, GdalSrc: src, GdalDst: dst, In: pts}
	}
	utmPts := func(south bool) [][2]float64 {
		var pts [][2]float64
		for e := 160000.0; e <= 840000; e += 68000 {
			for n := 0.0; n <= 9300000; n += 465000 {
				if south {
					pts = append(pts, [2]float64{e, 10000000 - n})
				} else {
					pts = append(pts, [2]float64{e, n})
				}
			}
		}
		return pts
	}
	cases := []projCase{
		geo("4326->32629", "EPSG:32629", lonLatGrid(-12.5, -5.5, 0, 84, 14)),
		geo("4326->32633", "EPSG:32633", lonLatGrid(11.5, 18.5, 0, 84, 14)),
		geo("4326->32733", "EPSG:32733", lonLatGrid(11.5, 18.5, -80, 0, 14)),
		geo("4326->32750", "EPSG:32750", lonLatGrid(113.5, 120.5, -80, 0, 14)),
		inv("32629->4326", "EPSG:32629", "EPSG:4326", utmPts(false)),
		inv("32633->4326", "EPSG:32633", "EPSG:4326", utmPts(false)),
		inv("32733->4326", "EPSG:32733", "EPSG:4326", utmPts(true)),
		inv("32750->4326", "EPSG:32750", "EPSG:4326", utmPts(true)),
		geo("4326->3857", "EPSG:3857", lonLatGrid(-180, 180, -85, 85, 12)),
		inv("3857->4326", "EPSG:3857", "EPSG:4326", lonLatGrid(-2e7, 2e7, -1.9e7, 1.9e7, 12)),
		geo("4326->31985", "EPSG:31985", lonLatGrid(-36, -30, -12, 2, 10)),
		inv("31985->4326", "EPSG:31985", "EPSG:4326", lonLatGrid(200000, 800000, 8800000, 10000000, 10)),
		geo("4326->3395", "EPSG:3395", lonLatGrid(-180, 180, -80, 80, 8)),
		geo("4326->26917", "EPSG:26917", lonLatGrid(-84, -78, 25, 50, 8)),
		{Name: "4326->nc-lcc-file", Src: "EPSG:4326", Dst: "keys:nc", GdalSrc: "EPSG:4326", GdalDst: "file:" + ncLCCFile,
			In: lonLatGrid(-84.5, -75, 33, 37, 10)},
		{Name: "nc-lcc-file->4326", Src: "keys:nc", Dst: "EPSG:4326", GdalSrc: "file:" + ncLCCFile, GdalDst: "EPSG:4326",
			In: lonLatGrid(100000, 950000, -50000, 350000, 10)},
		{Name: "nc-lcc-file->4269", Src: "keys:nc", Dst: "EPSG:4269", GdalSrc: "file:" + ncLCCFile, GdalDst: "EPSG:4269",
			In: lonLatGrid(629980, 644971, 215018.25, 228527.25, 6)},
		geo("4326->2264", "EPSG:2264", lonLatGrid(-84.5, -75, 33, 37, 6)),
		geo("4326->tmerc-custom", tmercCustom, lonLatGrid(-8, 2, 49, 61, 8)),
		inv("tmerc-custom->4326", tmercCustom, "EPSG:4326", lonLatGrid(0, 700000, 0, 1200000, 8)),
		geo("4326->lcc1sp", lcc1SP, lonLatGrid(-79, -75, 16, 20, 8)),
		inv("lcc1sp->4326", lcc1SP, "EPSG:4326", lonLatGrid(0, 500000, 0, 300000, 8)),
	}
	return cases
}

func (c projCase) crs(t *testing.T, s string) *CRS {
	t.Helper()
	var k *CRS
	var err error
	if s == "keys:nc" {
		k, err = FromGeoKeys(ncLCCKeys())
	} else {
		k, err = Parse(s)
	}
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	return k
}

// gdalSRS turns a "file:" reference into the file's WKT (gdaltransform of
// GDAL 3.6 does not accept a raster path for -s_srs).
func gdalSRS(t *testing.T, s string) string {
	f, ok := strings.CutPrefix(s, "file:")
	if !ok {
		return s
	}
	if _, err := os.Stat(f); err != nil {
		t.Skipf("real data absent (%s): %v", f, err)
	}
	out, err := exec.Command("gdalsrsinfo", "-o", "wkt1", f).Output()
	if err != nil {
		t.Fatalf("gdalsrsinfo %s: %v", f, err)
	}
	return strings.TrimSpace(string(out))
}

// runGDALTransform feeds points to gdaltransform and returns its results.
func runGDALTransform(t *testing.T, src, dst string, pts [][2]float64) [][2]float64 {
	t.Helper()
	var in bytes.Buffer
	for _, p := range pts {
		fmt.Fprintf(&in, "%.17g %.17g\n", p[0], p[1])
	}
	cmd := exec.Command("gdaltransform", "-s_srs", gdalSRS(t, src), "-t_srs", gdalSRS(t, dst))
	cmd.Stdin = &in
	cmd.Env = append(os.Environ(), "PROJ_NETWORK=OFF")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gdaltransform %s -> %s: %v", src, dst, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(pts) {
		t.Fatalf("gdaltransform returned %d lines for %d points", len(lines), len(pts))
	}
	res := make([][2]float64, len(pts))
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			t.Fatalf("gdaltransform line %q", l)
		}
		x, err1 := strconv.ParseFloat(f[0], 64)
		y, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			x, y = math.Inf(1), math.Inf(1) // failed point
		}
		res[i] = [2]float64{x, y}
	}
	return res
}

// compareToPROJ checks this package's transform of c.In against want.
func compareToPROJ(t *testing.T, c projCase, want [][2]float64, what string) {
	t.Helper()
	src, dst := c.crs(t, c.Src), c.crs(t, c.Dst)
	tr, err := NewTransformer(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	xs, ys := make([]float64, len(c.In)), make([]float64, len(c.In))
	for i, p := range c.In {
		xs[i], ys[i] = p[0], p[1]
	}
	_ = tr.Transform(xs, ys) // failed points are NaN and compared below
	tol := 1e-3              // metres
	if dst.IsGeographic() {
		tol = 1e-9 // degrees
	}
	var maxErr float64
	compared := 0
	for i := range xs {
		w := want[i]
		if math.IsInf(w[0], 0) || math.IsNaN(w[0]) || math.Abs(w[0]) > 1e30 {
			continue // PROJ could not transform it either
		}
		if math.IsNaN(xs[i]) {
			t.Errorf("%s (%s): point %v failed here, PROJ gives %v", c.Name, what, c.In[i], w)
			continue
		}
		e := math.Max(math.Abs(xs[i]-w[0]), math.Abs(ys[i]-w[1]))
		maxErr = math.Max(maxErr, e)
		if e > tol {
			t.Errorf("%s (%s): %v -> (%.10f, %.10f), PROJ (%.10f, %.10f), diff %.3g", c.Name, what, c.In[i], xs[i], ys[i], w[0], w[1], e)
		}
		compared++
	}
	if compared < len(xs)/2 {
		t.Errorf("%s (%s): only %d of %d points compared", c.Name, what, compared, len(xs))
	}
	t.Logf("%s (%s): %d points, max diff %.3g (tolerance %g)", c.Name, what, compared, maxErr, tol)
}

func loadGolden(t *testing.T) map[string]projCase {
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("golden file: %v (regenerate with go test -run TestPROJ -update-golden)", err)
	}
	var cs []projCase
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	m := map[string]projCase{}
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

// TestPROJGolden checks the transforms against PROJ results stored in
// testdata (computed by gdaltransform / PROJ 9.1.1), so it runs without GDAL.
func TestPROJGolden(t *testing.T) {
	if *updateGolden {
		t.Skip("updating golden")
	}
	golden := loadGolden(t)
	for _, c := range projCases() {
		g, ok := golden[c.Name]
		if !ok {
			t.Errorf("%s: missing from golden file", c.Name)
			continue
		}
		compareToPROJ(t, g, g.Out, "golden")
	}
}

// TestPROJLive runs gdaltransform on the same points (skipped without GDAL).
func TestPROJLive(t *testing.T) {
	if _, err := exec.LookPath("gdaltransform"); err != nil {
		t.Skip("gdaltransform not installed")
	}
	var all []projCase
	for _, c := range projCases() {
		c.Out = runGDALTransform(t, c.GdalSrc, c.GdalDst, c.In)
		compareToPROJ(t, c, c.Out, "gdaltransform")
		if strings.HasPrefix(c.GdalSrc, "file:") || strings.HasPrefix(c.GdalDst, "file:") {
			c.GdalSrc = strings.Replace(c.GdalSrc, realData+"/", "", 1)
			c.GdalDst = strings.Replace(c.GdalDst, realData+"/", "", 1)
		}
		all = append(all, c)
	}
	if *updateGolden {
		b, err := json.Marshal(all)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(goldenPath), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

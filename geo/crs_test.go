package geo

import (
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"

	"github.com/rasterflow/rasterflow/tiff"
)

// TestParseRoundTrip: String() output parses back to an equal CRS, and
// user-defined CRSs print as PROJ strings that PROJ itself accepts.
func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"EPSG:4326", "EPSG:4269", "EPSG:32629", "EPSG:32750", "EPSG:26917", "EPSG:31985", "EPSG:31965",
		"EPSG:3857", "EPSG:3395", "EPSG:32119", "EPSG:2264", "EPSG:25832",
		tmercCustom, lcc1SP,
		"+proj=lcc +lat_1=36.1666666666667 +lat_2=34.3333333333333 +lat_0=33.75 +lon_0=-79 +x_0=609601.22 +y_0=0 +ellps=GRS80 +units=m",
		"+proj=lcc +lat_1=45 +lat_2=33 +lat_0=39 +lon_0=-96 +x_0=0 +y_0=0 +a=6378137 +rf=298.257222101 +units=us-ft",
		"+proj=merc +lat_ts=10 +lon_0=5 +ellps=WGS84 +to_meter=2",
	} {
		c, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		back, err := Parse(c.String())
		if err != nil {
			t.Fatalf("Parse(String()=%q): %v", c.String(), err)
		}
		if !back.Equal(c) || back.String() != c.String() {
			t.Errorf("%q: String %q parses to %q, not equal", s, c.String(), back.String())
		}
		if _, err := exec.LookPath("projinfo"); err == nil && c.EPSG == 0 {
			if out, err := exec.Command("projinfo", "-q", "-o", "PROJ", c.Proj()).CombinedOutput(); err != nil {
				t.Errorf("projinfo rejects %q: %v %s", c.Proj(), err, out)
			}
		}
	}
}

// TestParseIdentifiesEPSG: PROJ strings of known EPSG CRSs (as printed by
// projinfo) get their code.
func TestParseIdentifiesEPSG(t *testing.T) {
	for s, want := range map[string]string{
		"+proj=utm +zone=32 +datum=WGS84 +units=m +no_defs +type=crs":                                                                            "EPSG:32632",
		"+proj=utm +zone=33 +south +datum=WGS84 +units=m +no_defs +type=crs":                                                                     "EPSG:32733",
		"+proj=longlat +datum=WGS84 +no_defs +type=crs":                                                                                          "EPSG:4326",
		"+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs +type=crs":             "EPSG:3857",
		"+proj=lcc +lat_0=33.75 +lon_0=-79 +lat_1=36.1666666666667 +lat_2=34.3333333333333 +x_0=609601.22 +y_0=0 +datum=NAD83 +units=m +no_defs": "EPSG:32119",
	} {
		c, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != want {
			t.Errorf("%q: got %s, want %s", s, c, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"EPSG:2193", "EPSG:x", "+proj=aea +lat_1=1", "+proj=utm +zone=61",
		"+proj=longlat +towgs84=1,2,3", "+proj=tmerc +lat_0=abc", "WGS84", "+proj=lcc +lat_1=10 +lat_2=-10"} {
		if c, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want error", s, c)
		}
	}
}

// TestNCFileKeys: the GeoKeys of landclass96.tif give the CRS GDAL reports
// for it (gdalsrsinfo -o proj4) and EPSG:32119's parameters.
func TestNCFileKeys(t *testing.T) {
	c, err := FromGeoKeys(ncLCCKeys())
	if err != nil {
		t.Fatal(err)
	}
	gdalProj := "+proj=lcc +lat_0=33.75 +lon_0=-79 +lat_1=36.1666666666667 +lat_2=34.3333333333333 +x_0=609601.22 +y_0=0 +datum=NAD83 +units=m +no_defs"
	if out, err := exec.Command("gdalsrsinfo", "-o", "proj4", ncLCCFile).Output(); err == nil {
		gdalProj = strings.TrimSpace(string(out))
	}
	p, err := Parse(gdalProj)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal(p) || c.Projection != LCC2SP {
		t.Errorf("keys give %s (%s), GDAL says %s", c, c.Proj(), gdalProj)
	}
	if c.IsGeographic() {
		t.Error("projected CRS reported geographic")
	}
}

// TestGeoKeysRoundTrip: GeoKeys() read back by FromGeoKeys gives an equal CRS.
func TestGeoKeysRoundTrip(t *testing.T) {
	for _, s := range []string{"EPSG:4326", "EPSG:32733", "EPSG:3857", "EPSG:31985", tmercCustom, lcc1SP,
		"+proj=lcc +lat_1=45 +lat_2=33 +lat_0=39 +lon_0=-96 +x_0=1000 +y_0=20 +a=6378137 +rf=298.257222101 +units=us-ft",
		"+proj=merc +lat_ts=10 +lon_0=5 +ellps=WGS84 +to_meter=2",
		"+proj=longlat +ellps=GRS80"} {
		c, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		k := c.GeoKeys()
		back, err := FromGeoKeys(k)
		if err != nil {
			t.Fatalf("%s: FromGeoKeys(%+v): %v", s, k, err)
		}
		if !back.Equal(c) || back.EPSG != c.EPSG {
			t.Errorf("%s: keys %+v read back as %s", s, k, back.Proj())
		}
		if c.EPSG != 0 && k.EPSG() != c.EPSG {
			t.Errorf("%s: keys carry EPSG %d", s, k.EPSG())
		}
	}
}

func TestFromGeoKeysUnsupported(t *testing.T) {
	k := tiff.GeoKeys{Short: map[uint16]uint16{
		tiff.GTModelTypeGeoKey: 1, tiff.GeographicTypeGeoKey: 4326, tiff.ProjectedCSTypeGeoKey: 32767,
		tiff.ProjCoordTransGeoKey: 11,
	}}
	_, err := FromGeoKeys(k)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "11") || !strings.Contains(err.Error(), "Albers") {
		t.Errorf("error %v should name CoordTrans 11 (Albers)", err)
	}
	k.Short[tiff.ProjCoordTransGeoKey] = 0
	delete(k.Short, tiff.ProjCoordTransGeoKey)
	if _, err := FromGeoKeys(k); err == nil {
		t.Error("missing ProjCoordTransGeoKey accepted")
	}
	k = tiff.GeoKeys{Short: map[uint16]uint16{tiff.GTModelTypeGeoKey: 1, tiff.ProjectedCSTypeGeoKey: 2193}}
	if _, err := FromGeoKeys(k); !errors.Is(err, ErrUnsupported) {
		t.Errorf("EPSG:2193: %v", err)
	}
}

// TestTransformDomain: points outside a projection's domain become NaN and
// the error wraps ErrDomain; the others are still transformed.
func TestTransformDomain(t *testing.T) {
	tr, err := NewTransformer(mustParse(t, "EPSG:4326"), mustParse(t, "EPSG:3857"))
	if err != nil {
		t.Fatal(err)
	}
	xs, ys := []float64{0, 10}, []float64{90, 0}
	err = tr.Transform(xs, ys)
	if !errors.Is(err, ErrDomain) || !math.IsNaN(xs[0]) || math.IsNaN(xs[1]) {
		t.Errorf("got %v %v %v", err, xs, ys)
	}
	if err := tr.Transform(xs, ys[:1]); err == nil {
		t.Error("length mismatch accepted")
	}
}

// TestSourceWindow: the source window of the whole destination of the
// WorldCover geometry covers every source pixel that nearest resampling
// reads, and a window off the source gives false.
func TestSourceWindow(t *testing.T) {
	dst, src := worldCoverGrids(t)
	win := Window{100, 200, 300, 150}
	sw, ok := SourceWindow(dst, win, src, 0)
	if !ok {
		t.Fatal("no overlap")
	}
	m, _ := newPixelMapper(dst, src)
	for r := win.Y; r < win.Y+win.H; r++ {
		for c := win.X; c < win.X+win.W; c++ {
			x, y, _ := m.exact(float64(c)+0.5, float64(r)+0.5)
			ix, iy := int(x), int(y)
			if ix < sw.X || iy < sw.Y || ix >= sw.X+sw.W || iy >= sw.Y+sw.H {
				t.Fatalf("pixel %d,%d reads source %d,%d outside %+v", c, r, ix, iy, sw)
			}
		}
	}
	far := dst
	far.Transform[0] += 5e6
	if w, ok := SourceWindow(far, win, src, 1); ok {
		t.Errorf("far window overlaps: %+v", w)
	}
}

func TestResampleErrors(t *testing.T) {
	dst, src := s2Grids(t)
	win, sw := Window{0, 0, 4, 4}, Window{0, 0, 2, 2}
	if err := Resample(dst, win, src, sw, make([]uint16, 4), Nearest, nil, make([]uint8, 16), 0); err == nil {
		t.Error("mismatched types accepted")
	}
	if err := Resample(dst, win, src, sw, make([]uint16, 3), Nearest, nil, make([]uint16, 16), 0); err == nil {
		t.Error("short source accepted")
	}
	if err := Resample(dst, win, src, sw, make([]uint16, 4), Nearest, nil, make([]uint16, 15), 0); err == nil {
		t.Error("short output accepted")
	}
	if err := Resample(dst, win, src, sw, []string{"a"}, Nearest, nil, make([]uint16, 16), 0); err == nil {
		t.Error("string buffer accepted")
	}
	if err := Resample(dst, win, src, sw, make([]uint16, 4), Method(9), nil, make([]uint16, 16), 0); err == nil {
		t.Error("bad method accepted")
	}
	bad := src
	bad.Transform = [6]float64{}
	if err := Resample(dst, win, bad, sw, make([]uint16, 4), Nearest, nil, make([]uint16, 16), 0); err == nil {
		t.Error("singular transform accepted")
	}
}

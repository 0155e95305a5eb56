package tiff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realData is the shared real-data folder, relative to this package.
const realData = "../../shared/data/real"

func needRealData(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(realData); err != nil {
		t.Skipf("real data folder %s absent: %v", realData, err)
	}
}

// golden is what testdata/gen_golden.py records from GDAL.
type golden struct {
	File         string            `json:"file"`
	Root         string            `json:"root"` // "real" or "fixtures"
	Width        int               `json:"width"`
	Height       int               `json:"height"`
	Bands        int               `json:"bands"`
	Compression  string            `json:"compression"`
	Unsupported  bool              `json:"unsupported"`
	DType        string            `json:"dtype"`
	Transform    []float64         `json:"transform"`
	EPSG         *int              `json:"epsg"`
	CRSName      *string           `json:"crs_name"`
	Nodata       any               `json:"nodata"` // number, or "nan"
	BandSHA      []string          `json:"band_sha256"`
	Overviews    [][3]any          `json:"overviews"`
	MaskSHA      *string           `json:"mask_sha256"`
	Alpha        int               `json:"alpha"`
	PaletteLen   int               `json:"palette_len"`
	PaletteSHA   *string           `json:"palette_sha256"`
	Descriptions []string          `json:"descriptions"`
	Scales       []*float64        `json:"scales"`
	Offsets      []*float64        `json:"offsets"`
	Metadata     map[string]string `json:"metadata"`
	COG          bool              `json:"cog"`
}

func readGolden(t *testing.T) map[string]golden {
	t.Helper()
	paths, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	out := map[string]golden{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var g golden
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = g
	}
	return out
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// imageSHA decodes every band of a whole image and hashes each.
func imageSHA(t *testing.T, im *Image, bands []int) []string {
	t.Helper()
	px, err := im.ReadWindow(context.Background(), 0, 0, im.Width, im.Height, bands)
	if err != nil {
		t.Fatalf("ReadWindow %dx%d: %v", im.Width, im.Height, err)
	}
	var out []string
	for _, b := range px {
		out = append(out, shaHex(b))
	}
	return out
}

func TestGolden(t *testing.T) {
	_, statErr := os.Stat(realData)
	for name, g := range readGolden(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "fixtures", g.File)
			if g.Root == "real" {
				if statErr != nil {
					t.Skipf("real data folder %s absent: %v", realData, statErr)
				}
				path = filepath.Join(realData, g.File)
			}
			f, err := OpenFile(path)
			if g.Unsupported {
				var ue *UnsupportedError
				if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) {
					t.Fatalf("want UnsupportedError for %s, got %v", g.Compression, err)
				}
				t.Logf("unsupported as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checkGolden(t, f, g)
		})
	}
}

func checkGolden(t *testing.T, f *File, g golden) {
	im := f.Images[0]
	if im.Width != g.Width || im.Height != g.Height || im.Bands != g.Bands {
		t.Fatalf("size %dx%dx%d, GDAL %dx%dx%d", im.Width, im.Height, im.Bands, g.Width, g.Height, g.Bands)
	}
	wantDT := g.DType
	if wantDT == "nbits" {
		wantDT = "uint8"
	}
	if im.DType.String() != wantDT {
		t.Errorf("dtype %s, GDAL %s", im.DType, g.DType)
	}
	if g.Transform == nil {
		if im.Geo.HasTransform {
			t.Errorf("transform %v, GDAL none", im.Geo.Transform)
		}
	} else {
		if !im.Geo.HasTransform {
			t.Errorf("no transform, GDAL %v", g.Transform)
		}
		for i, v := range g.Transform {
			if d := math.Abs(im.Geo.Transform[i] - v); d > 1e-9*max(1, math.Abs(v)) {
				t.Errorf("transform %v, GDAL %v", im.Geo.Transform, g.Transform)
				break
			}
		}
	}
	if g.EPSG != nil {
		if im.Geo.Keys.EPSG() != *g.EPSG {
			t.Errorf("EPSG %d, GDAL %d", im.Geo.Keys.EPSG(), *g.EPSG)
		}
	} else if g.CRSName != nil {
		if im.Geo.Keys.EPSG() != 0 || im.Geo.Keys.CRS() != *g.CRSName {
			t.Errorf("CRS %q (EPSG %d), GDAL user-defined %q", im.Geo.Keys.CRS(), im.Geo.Keys.EPSG(), *g.CRSName)
		}
	}
	switch nd := g.Nodata.(type) {
	case nil:
		if im.Nodata != nil {
			t.Errorf("nodata %v, GDAL none", *im.Nodata)
		}
	case float64:
		if im.Nodata == nil || *im.Nodata != nd {
			t.Errorf("nodata %v, GDAL %v", im.Nodata, nd)
		}
	case string:
		if im.Nodata == nil || !math.IsNaN(*im.Nodata) {
			t.Errorf("nodata %v, GDAL %v", im.Nodata, nd)
		}
	}
	if got := imageSHA(t, im, nil); !equalStrings(got, g.BandSHA) {
		t.Errorf("band sha256 differ from GDAL:\n got %v\nwant %v", got, g.BandSHA)
	}
	if len(im.Overviews) != len(g.Overviews) {
		t.Errorf("%d overviews, GDAL %d", len(im.Overviews), len(g.Overviews))
	} else {
		for i, o := range im.Overviews {
			w, h := int(g.Overviews[i][0].(float64)), int(g.Overviews[i][1].(float64))
			if o.Width != w || o.Height != h {
				t.Errorf("overview %d is %dx%d, GDAL %dx%d", i, o.Width, o.Height, w, h)
				continue
			}
			if got := imageSHA(t, o, []int{0}); got[0] != g.Overviews[i][2] {
				t.Errorf("overview %d band 1 sha256 differs from GDAL", i)
			}
		}
	}
	if (im.Mask != nil) != (g.MaskSHA != nil) {
		t.Errorf("mask present %v, GDAL %v", im.Mask != nil, g.MaskSHA != nil)
	} else if im.Mask != nil {
		if got := imageSHA(t, im.Mask, nil); got[0] != *g.MaskSHA {
			t.Errorf("mask sha256 differs from GDAL")
		}
	}
	if im.Alpha != g.Alpha {
		t.Errorf("alpha band %d, GDAL %d", im.Alpha, g.Alpha)
	}
	if g.DType == "nbits" && im.ColorMap == nil {
		// GDAL invents a black/white table for 1-bit images without a ColorMap.
	} else if len(im.ColorMap) != g.PaletteLen {
		t.Errorf("palette of %d entries, GDAL %d", len(im.ColorMap), g.PaletteLen)
	} else if g.PaletteSHA != nil {
		var rgb []byte
		for _, c := range im.ColorMap {
			rgb = append(rgb, byte(c[0]/257), byte(c[1]/257), byte(c[2]/257))
		}
		if shaHex(rgb) != *g.PaletteSHA {
			t.Errorf("palette differs from GDAL")
		}
	}
	for i := 0; i < im.Bands; i++ {
		var bm BandMetadata
		if i < len(im.Meta.Bands) {
			bm = im.Meta.Bands[i]
		}
		if bm.Description != g.Descriptions[i] {
			t.Errorf("band %d description %q, GDAL %q", i, bm.Description, g.Descriptions[i])
		}
		if !equalOpt(bm.Scale, g.Scales[i]) || !equalOpt(bm.Offset, g.Offsets[i]) {
			t.Errorf("band %d scale/offset %v/%v, GDAL %v/%v", i, bm.Scale, bm.Offset, g.Scales[i], g.Offsets[i])
		}
	}
	for k, v := range im.Meta.Items {
		if g.Metadata[k] != v {
			t.Errorf("metadata %s=%q, GDAL %q", k, v, g.Metadata[k])
		}
	}
	info := f.Info()
	if info.COG != g.COG {
		t.Errorf("COG %v (%v), GDAL's validator %v", info.COG, info.COGErrors, g.COG)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// equalOpt compares an optional value with GDAL's (which reports an unset
// scale/offset as null, or as 1/0 in some versions).
func equalOpt(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

package tiff

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	gdalPython   = "/usr/bin/python3"
	cogValidator = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py"
)

// needGDAL skips the test when GDAL's Python bindings or the COG validator
// are absent.
func needGDAL(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(cogValidator); err != nil {
		t.Skipf("GDAL COG validator %s absent: %v", cogValidator, err)
	}
	if out, err := exec.Command(gdalPython, "-c", "from osgeo import gdal; import numpy").CombinedOutput(); err != nil {
		t.Skipf("GDAL Python bindings unavailable (%v): %s", err, out)
	}
}

// synthBands makes a smooth field with noise per band, converted to the
// data type, with a disc of nodata when nodata is set.
func synthBands(o WriteOptions, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	size := o.DType.Size()
	out := make([][]byte, o.Bands)
	for b := range out {
		buf := make([]byte, o.Width*o.Height*size)
		for y := 0; y < o.Height; y++ {
			for x := 0; x < o.Width; x++ {
				v := 0.5 + 0.25*math.Sin(float64(x)/37+float64(b)) + 0.2*math.Cos(float64(y)/53) + 0.05*rng.Float64()
				dx, dy := float64(x-o.Width/3), float64(y-o.Height/2)
				if o.Nodata != nil && dx*dx+dy*dy < float64(o.Width*o.Width)/64 {
					putSample(buf, y*o.Width+x, o.DType, *o.Nodata)
					continue
				}
				putSample(buf, y*o.Width+x, o.DType, scaleTo(o.DType, v))
			}
		}
		out[b] = buf
	}
	return out
}

// scaleTo maps v in [0,1) to a typical range of the data type.
func scaleTo(d DType, v float64) float64 {
	switch d {
	case Uint8:
		return math.Floor(v * 250)
	case Int8:
		return math.Floor(v*250 - 125)
	case Uint16:
		return math.Floor(v * 10000)
	case Int16:
		return math.Floor(v*20000 - 10000)
	case Uint32, Int32:
		return math.Floor(v * 1e6)
	}
	return v * 1000
}

func putSample(b []byte, i int, d DType, v float64) {
	le := binary.LittleEndian
	switch d {
	case Uint8:
		b[i] = uint8(v)
	case Int8:
		b[i] = byte(int8(v))
	case Uint16:
		le.PutUint16(b[2*i:], uint16(v))
	case Int16:
		le.PutUint16(b[2*i:], uint16(int16(v)))
	case Uint32:
		le.PutUint32(b[4*i:], uint32(v))
	case Int32:
		le.PutUint32(b[4*i:], uint32(int32(v)))
	case Float32:
		le.PutUint32(b[4*i:], math.Float32bits(float32(v)))
	case Float64:
		le.PutUint64(b[8*i:], math.Float64bits(v))
	}
}

// window is a rectangle of the raster.
type window struct{ x, y, w, h int }

// randomWindows cuts the raster at random columns and rows and shuffles the
// pieces, so windows are neither tile-aligned nor ordered.
func randomWindows(w, h, maxPiece int, rng *rand.Rand) []window {
	cuts := func(n int) []int {
		c := []int{0}
		for c[len(c)-1] < n {
			c = append(c, min(n, c[len(c)-1]+1+rng.IntN(maxPiece)))
		}
		return c
	}
	xs, ys := cuts(w), cuts(h)
	var ws []window
	for j := 1; j < len(ys); j++ {
		for i := 1; i < len(xs); i++ {
			ws = append(ws, window{xs[i-1], ys[j-1], xs[i] - xs[i-1], ys[j] - ys[j-1]})
		}
	}
	rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
	return ws
}

// cutWindow copies a window out of full band buffers.
func cutWindow(bands [][]byte, width, size int, win window) [][]byte {
	out := make([][]byte, len(bands))
	for b, full := range bands {
		buf := make([]byte, 0, win.w*win.h*size)
		for y := win.y; y < win.y+win.h; y++ {
			buf = append(buf, full[(y*width+win.x)*size:(y*width+win.x+win.w)*size]...)
		}
		out[b] = buf
	}
	return out
}

// writeConcurrently writes the windows from 4 goroutines and returns the
// first error.
func writeConcurrently(w *COGWriter, bands [][]byte, o WriteOptions, wins []window) error {
	ch := make(chan window)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for win := range ch { // drain even after an error
				if err := w.WriteWindow(win.x, win.y, win.w, win.h, cutWindow(bands, o.Width, o.DType.Size(), win)); err != nil && first == nil {
					first = err
				}
			}
			if first != nil {
				errs <- first
			}
		}()
	}
	for _, win := range wins {
		ch <- win
	}
	close(ch)
	wg.Wait()
	close(errs)
	return <-errs
}

type gdalReport struct {
	Size         []int             `json:"size"`
	DType        string            `json:"dtype"`
	Bands        []string          `json:"bands"`
	GT           []float64         `json:"gt"`
	EPSG         *int              `json:"epsg"`
	Nodata       any               `json:"nodata"`
	Colors       [][4]int          `json:"colors"`
	Descriptions []string          `json:"descriptions"`
	Structure    map[string]string `json:"structure"`
	Block        []int             `json:"block"`
	Overviews    [][3]any          `json:"overviews"`
	Reference    struct {
		RefOverviews int `json:"ref_overviews"`
		Levels       []struct {
			Mismatch  int     `json:"mismatch"`
			Pixels    int     `json:"pixels"`
			MaxAbs    float64 `json:"max_abs"`
			SizeEqual bool    `json:"size_equal"`
		} `json:"levels"`
	} `json:"reference"`
}

// validateCOG runs GDAL's COG validator with the full check and requires a
// clean report.
func validateCOG(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command(gdalPython, cogValidator, "--full-check=yes", path).CombinedOutput()
	s := string(out)
	if err != nil || !strings.Contains(s, "is a valid cloud optimized GeoTIFF") ||
		strings.Contains(strings.ToLower(s), "error") || strings.Contains(strings.ToLower(s), "warning") {
		t.Fatalf("validator (%v): %s", err, s)
	}
}

func gdalCheck(t *testing.T, path string, o WriteOptions, extra ...string) gdalReport {
	t.Helper()
	args := append([]string{"testdata/cog_write_check.py", path, strings.ToUpper(o.Resampling), itoa(o.BlockSize)}, extra...)
	cmd := exec.Command(gdalPython, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cog_write_check.py: %v\n%s%s", err, out, stderr.String())
	}
	var r gdalReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("parsing report: %v\n%s", err, out)
	}
	return r
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func f64(v float64) *float64 { return &v }

// utm29 is EPSG:32629 georeferencing as GDAL writes it.
func utm29() Georef {
	return Georef{
		Keys: GeoKeys{
			Short: map[uint16]uint16{GTModelTypeGeoKey: ModelTypeProjected, ProjectedCSTypeGeoKey: 32629, ProjLinearUnitsGeoKey: 9001},
			ASCII: map[uint16]string{GTCitationGeoKey: "WGS 84 / UTM zone 29N"},
		},
		Transform:    [6]float64{199980, 100, 0, 2800020, 0, -100},
		HasTransform: true,
	}
}

func TestCOGWriteGDALRoundTrip(t *testing.T) {
	needGDAL(t)
	palette := make([][3]uint16, 200)
	for i := range palette {
		palette[i] = [3]uint16{uint16(i) * 257, uint16(255-i) * 257, uint16(i*7%256) * 257}
	}
	geo4326 := Georef{
		Keys:         GeoKeys{Short: map[uint16]uint16{GTModelTypeGeoKey: ModelTypeGeographic, GeographicTypeGeoKey: 4326}},
		Transform:    [6]float64{6, 0.001, 0.0002, 3, 0.0001, -0.001},
		HasTransform: true,
	}
	cases := []struct {
		name string
		o    WriteOptions
		epsg int
	}{
		{"u8_palette_deflate_nearest", WriteOptions{Width: 1000, Height: 777, Bands: 1, DType: Uint8, BlockSize: 256,
			ColorMap: palette, Geo: utm29(), Overviews: -1}, 32629},
		{"u16_zstd_pred2_average_nodata", WriteOptions{Width: 1030, Height: 1100, Bands: 1, DType: Uint16, BlockSize: 256,
			Compression: CompressionZSTD, Predictor: PredictorHorizontal, Resampling: "average", Nodata: f64(0), Geo: utm29(), Overviews: -1}, 32629},
		{"i16_lzw_average_nodata", WriteOptions{Width: 700, Height: 650, Bands: 1, DType: Int16, BlockSize: 128,
			Compression: CompressionLZW, Resampling: "average", Nodata: f64(-9999), Geo: utm29(), Overviews: -1,
			BandDescriptions: []string{"quality <flag> & more"}}, 32629},
		{"f32_deflate_pred3_average_nodata", WriteOptions{Width: 900, Height: 1000, Bands: 1, DType: Float32, BlockSize: 256,
			Resampling: "average", Nodata: f64(-9999), Geo: utm29(), Overviews: -1}, 32629},
		{"u8x3_deflate_nearest", WriteOptions{Width: 800, Height: 600, Bands: 3, DType: Uint8, BlockSize: 256,
			Geo: utm29(), Overviews: -1, BandDescriptions: []string{"red", "green", "blue"}}, 32629},
		{"u16x4_lzw_pred2_average_even", WriteOptions{Width: 1024, Height: 512, Bands: 4, DType: Uint16, BlockSize: 128,
			Compression: CompressionLZW, Resampling: "average", Geo: utm29(), Overviews: -1}, 32629},
		{"f64_none_bigtiff_rotated", WriteOptions{Width: 300, Height: 200, Bands: 2, DType: Float64, BlockSize: 128,
			Compression: CompressionNone, BigTIFF: "yes", Geo: geo4326, Overviews: -1}, 4326},
	}
	dir := t.TempDir()
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			bands := synthBands(o, uint64(ci))
			path := filepath.Join(dir, c.name+".tif")
			w, err := CreateCOG(path, o)
			if err != nil {
				t.Fatal(err)
			}
			err = writeConcurrently(w, bands, o, randomWindows(o.Width, o.Height, 400, rand.New(rand.NewPCG(uint64(ci), 1))))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			validateCOG(t, path)
			r := gdalCheck(t, path, w.opt)
			if r.Size[0] != o.Width || r.Size[1] != o.Height || r.Size[2] != o.Bands {
				t.Fatalf("size %v", r.Size)
			}
			for b := range bands {
				if r.Bands[b] != sha(bands[b]) {
					t.Errorf("band %d pixels differ", b+1)
				}
			}
			if r.EPSG == nil || *r.EPSG != c.epsg {
				t.Errorf("EPSG %v, want %d", r.EPSG, c.epsg)
			}
			for i, v := range o.Geo.Transform {
				if len(r.GT) != 6 || math.Abs(r.GT[i]-v) > 1e-9*math.Max(1, math.Abs(v)) {
					t.Fatalf("geotransform %v, want %v", r.GT, o.Geo.Transform)
				}
			}
			switch {
			case o.Nodata == nil && r.Nodata != nil:
				t.Errorf("nodata %v, want none", r.Nodata)
			case o.Nodata != nil && r.Nodata != *o.Nodata:
				t.Errorf("nodata %v, want %v", r.Nodata, *o.Nodata)
			}
			if len(o.ColorMap) > 0 {
				if len(r.Colors) != 256 {
					t.Fatalf("color table of %d entries", len(r.Colors))
				}
				for i, e := range r.Colors {
					var want [4]int
					if i < len(o.ColorMap) {
						want = [4]int{int(o.ColorMap[i][0] / 257), int(o.ColorMap[i][1] / 257), int(o.ColorMap[i][2] / 257), 255}
					} else {
						want = [4]int{0, 0, 0, 255}
					}
					if e != want {
						t.Fatalf("color %d = %v, want %v", i, e, want)
					}
				}
			}
			for i, d := range o.BandDescriptions {
				if r.Descriptions[i] != d {
					t.Errorf("band %d description %q, want %q", i+1, r.Descriptions[i], d)
				}
			}
			if o.Bands > 1 && r.Structure["INTERLEAVE"] != "PIXEL" {
				t.Errorf("interleave %q", r.Structure["INTERLEAVE"])
			}
			if r.Structure["LAYOUT"] != "COG" {
				t.Errorf("GDAL does not see the COG layout: %v", r.Structure)
			}
			if len(r.Overviews) != w.Levels()-1 || len(r.Overviews) != r.Reference.RefOverviews {
				t.Errorf("overviews: %d written, GDAL reads %d, GDAL's COG has %d", w.Levels()-1, len(r.Overviews), r.Reference.RefOverviews)
			}
			for i, lv := range r.Reference.Levels {
				t.Logf("%s overview %d (%vx%v): %d of %d samples differ from GDAL's COG (max |diff| %g)",
					o.Resampling, i+1, r.Overviews[i][0], r.Overviews[i][1], lv.Mismatch, lv.Pixels, lv.MaxAbs)
				if !lv.SizeEqual {
					t.Errorf("overview %d size differs from GDAL's", i+1)
				}
				if o.DType == Float64 && lv.MaxAbs <= 1e-6*1000 {
					// GDAL 3.6's COG driver computes Float64 overviews
					// through Float32, even for nearest; ours keep the
					// exact source values.
					continue
				}
				if lv.Mismatch != 0 {
					t.Errorf("overview %d: %d of %d samples differ from GDAL's COG (max |diff| %g)", i+1, lv.Mismatch, lv.Pixels, lv.MaxAbs)
				}
			}
		})
	}
}

func TestConvertToCOGGDAL(t *testing.T) {
	needGDAL(t)
	needRealData(t)
	files := []string{
		"s2-l2a-29rkh/B04.tif",
		"worldcover-n00e006/ESA_WorldCover_10m_2021_v200_N00E006_Map_saotome_2048.tif",
		"encodings-derived-s2/stack4_u16_lzw_pred2_pixel_tiled256.tif",
		"encodings-derived-s2/b04_f32_refl_deflate_pred3_tiled256.tif",
		"encodings-derived-s2/b04_i16_deflate_tiled256_nodata.tif",
		"landsat7-nc-landclass96/landclass96.tif",
	}
	dir := t.TempDir()
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			src := filepath.Join(realData, name)
			in, err := OpenFile(src)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			out := filepath.Join(dir, filepath.Base(name))
			opt := WriteOptions{Overviews: -1, BlockSize: 256}
			if err := ConvertToCOG(context.Background(), in, out, opt); err != nil {
				t.Fatal(err)
			}
			validateCOG(t, out)
			opt.Resampling = "nearest"
			want := gdalCheck(t, src, opt, "noref")
			got := gdalCheck(t, out, opt, "noref")
			if fmt.Sprint(got.Size, got.DType, got.Bands) != fmt.Sprint(want.Size, want.DType, want.Bands) {
				t.Errorf("pixels differ: got %v %s %v, want %v %s %v", got.Size, got.DType, got.Bands, want.Size, want.DType, want.Bands)
			}
			epsg := func(p *int) int {
				if p == nil {
					return 0
				}
				return *p
			}
			if fmt.Sprint(got.GT, epsg(got.EPSG), got.Nodata, got.Descriptions) != fmt.Sprint(want.GT, epsg(want.EPSG), want.Nodata, want.Descriptions) {
				t.Errorf("metadata: got %v %v %v %q, want %v %v %v %q", got.GT, epsg(got.EPSG), got.Nodata, got.Descriptions, want.GT, epsg(want.EPSG), want.Nodata, want.Descriptions)
			}
			if epsg(want.EPSG) == 0 {
				t.Logf("input has no EPSG code")
			}
			if fmt.Sprint(got.Colors) != fmt.Sprint(want.Colors) {
				t.Errorf("color tables differ")
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		in, err := OpenFile(filepath.Join(realData, files[0]))
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sub := t.TempDir()
		if err := ConvertToCOG(ctx, in, filepath.Join(sub, "x.tif"), WriteOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if names := dirEntries(t, sub); len(names) != 0 {
			t.Errorf("left behind: %v", names)
		}
	})
}

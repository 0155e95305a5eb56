package tiff

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rasterflow/rasterflow/blob"
)

// gdalWindows asks GDAL (python osgeo) for the sha256 of each window of
// band b of overview level ovr (-1: full resolution).
const gdalWindowsPy = `
import hashlib, json, sys
from osgeo import gdal
gdal.UseExceptions()
req = json.load(sys.stdin)
ds = gdal.Open(req["path"])
out = []
for x, y, w, h, b, ovr in req["windows"]:
    band = ds.GetRasterBand(b + 1)
    if ovr >= 0:
        band = band.GetOverview(ovr)
    out.append(hashlib.sha256(band.ReadRaster(x, y, w, h)).hexdigest())
print(json.dumps(out))
`

func gdalWindows(t *testing.T, path string, wins [][6]int) []string {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"path": path, "windows": wins})
	cmd := exec.Command("/usr/bin/python3", "-c", gdalWindowsPy)
	cmd.Stdin = strings.NewReader(string(req))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GDAL: %v", err)
	}
	var shas []string
	if err := json.Unmarshal(out, &shas); err != nil {
		t.Fatal(err)
	}
	return shas
}

func needGDALPython(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "from osgeo import gdal").Run(); err != nil {
		t.Skipf("python3 osgeo (GDAL) not available: %v", err)
	}
}

// rangeSource wraps a file source as a blob.MultiReader and counts calls.
type rangeSource struct {
	blob.Source
	calls int
}

func (s *rangeSource) ReadRanges(ctx context.Context, rs []blob.Range) ([][]byte, error) {
	s.calls++
	out := make([][]byte, len(rs))
	for i, r := range rs {
		// Sub-slices of one buffer at odd offsets, as a merging reader returns.
		buf := make([]byte, r.Len+1)
		if _, err := s.ReadAt(buf[1:], r.Off); err != nil {
			return nil, err
		}
		out[i] = buf[1:]
	}
	return out, nil
}

// TestLiveWindows reads random windows, at full resolution and from
// overviews, and compares them with GDAL's ReadRaster on the fly. Each file
// is read through a plain source and through a blob.MultiReader.
func TestLiveWindows(t *testing.T) {
	needRealData(t)
	needGDALPython(t)
	files := []string{
		"encodings-real/riotiler_web.tif",
		"landsat7-rgb-rasterio/rgb_lzw.tif",
		"landsat7-olinda-stars/L7_ETMs.tif",
		"encodings-derived-s2/stack4_u16_cog_zstd_pred2_ovr.tif",
		"encodings-derived-s2/b04_f32_refl_cog_zstd_pred3_ovr.tif",
		"worldcover-n00e006/ESA_WorldCover_10m_2021_v200_N00E006_InputQuality.tif",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := filepath.Join(realData, name)
			for _, multi := range []bool{false, true} {
				f, err := OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var rs *rangeSource
				if multi {
					rs = &rangeSource{Source: f.src}
					f.src = rs
					f.SetBlockCache(0) // one ReadRanges call per window, checked below
				}
				im0 := f.Images[0]
				var wins [][6]int
				for i := 0; i < 12; i++ {
					ovr := rng.IntN(len(im0.Overviews)+1) - 1
					im := im0
					if ovr >= 0 {
						im = im0.Overviews[ovr]
					}
					w, h := 1+rng.IntN(min(im.Width, 700)), 1+rng.IntN(min(im.Height, 700))
					x, y := rng.IntN(im.Width-w+1), rng.IntN(im.Height-h+1)
					wins = append(wins, [6]int{x, y, w, h, rng.IntN(im.Bands), ovr})
				}
				want := gdalWindows(t, path, wins)
				for i, wd := range wins {
					im := im0
					if wd[5] >= 0 {
						im = im0.Overviews[wd[5]]
					}
					px, err := im.ReadWindow(context.Background(), wd[0], wd[1], wd[2], wd[3], []int{wd[4]})
					if err != nil {
						t.Fatal(err)
					}
					if got := shaHex(px[0]); got != want[i] {
						t.Errorf("window %v (multi=%v): sha256 differs from GDAL", wd, multi)
					}
				}
				if multi && rs.calls != len(wins) {
					t.Errorf("%d ReadRanges calls for %d windows", rs.calls, len(wins))
				}
				f.Close()
			}
		})
	}
}

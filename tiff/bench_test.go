package tiff

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkDecode measures full-image decode throughput (MB/s of decoded
// pixels) with all cores and with one, beside GDAL on the same file:
// gdal_translate -of ENVI exec'd per iteration (which includes process
// start-up and writing the output), and, for the x_gdal metric (this
// reader's throughput over GDAL's), GDAL's in-process ReadRaster of the
// whole band through python osgeo, single-threaded (GDAL_NUM_THREADS=1),
// best of five.
//
//	go test -run XXX -bench Decode -benchtime 5x ./tiff/
func BenchmarkDecode(b *testing.B) {
	needRealData(b)
	web := filepath.Join(realData, "encodings-real", "riotiler_web.tif")
	b.Run("web_1024_u16_deflate_pred2", func(b *testing.B) { benchFile(b, web) })
	b.Run("cog_4096_u16_deflate_pred2", func(b *testing.B) {
		if _, err := exec.LookPath("gdal_translate"); err != nil {
			b.Skip("gdal_translate not available to build the 4096x4096 COG")
		}
		big := filepath.Join(b.TempDir(), "b04_4096.tif")
		out, err := exec.Command("gdal_translate", "-q", "-outsize", "4096", "4096", "-r", "bilinear",
			"-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2",
			filepath.Join(realData, "s2-l2a-29rkh", "B04.tif"), big).CombinedOutput()
		if err != nil {
			b.Fatalf("gdal_translate: %v\n%s", err, out)
		}
		benchFile(b, big)
	})
}

// fileBytes is the decoded size of every band of the first image.
func fileBytes(b *testing.B, path string) int64 {
	f, err := OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	im := f.Images[0]
	return int64(im.Width) * int64(im.Height) * int64(im.Bands) * int64(im.DType.Size())
}

func benchFile(b *testing.B, path string) {
	f, err := OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	im := f.Images[0]
	px := int64(im.Width) * int64(im.Height) * int64(im.Bands) * int64(im.DType.Size())
	gdalSec := gdalReadSeconds(b, path)
	dst := make([][]byte, im.Bands)
	for i := range dst {
		dst[i] = make([]byte, im.Width*im.Height*im.DType.Size())
	}
	run := func(b *testing.B, procs int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		b.SetBytes(px)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := im.ReadWindowInto(context.Background(), 0, 0, im.Width, im.Height, nil, dst); err != nil {
				b.Fatal(err)
			}
		}
		if gdalSec > 0 {
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(gdalSec/perOp, "x_gdal")
		}
	}
	b.Run("all_cores", func(b *testing.B) { run(b, runtime.NumCPU()) })
	b.Run("one_core", func(b *testing.B) { run(b, 1) })
	if _, err := exec.LookPath("gdal_translate"); err == nil {
		b.Run("gdal_translate_envi", func(b *testing.B) {
			b.SetBytes(px)
			for i := 0; i < b.N; i++ {
				gdalTranslateOnce(b, path)
			}
		})
	}
}

const gdalReadPy = `
import sys, time
from osgeo import gdal
best = 1e9
for i in range(5):
    t0 = time.perf_counter()
    ds = gdal.Open(sys.argv[1])
    for k in range(ds.RasterCount):
        ds.GetRasterBand(k + 1).ReadRaster()
    ds = None
    best = min(best, time.perf_counter() - t0)
print(best)
`

// gdalReadSeconds is GDAL's best in-process time to open the file and read
// every band, single-threaded, or 0 when python osgeo is absent.
func gdalReadSeconds(b *testing.B, path string) float64 {
	cmd := exec.Command("/usr/bin/python3", "-c", gdalReadPy, path)
	cmd.Env = append(os.Environ(), "GDAL_NUM_THREADS=1", "GDAL_PAM_ENABLED=NO")
	out, err := cmd.Output()
	if err != nil {
		b.Logf("python osgeo not available (%v): no x_gdal metric", err)
		return 0
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || s <= 0 {
		b.Fatalf("GDAL timing %q: %v", out, err)
	}
	b.Logf("GDAL ReadRaster (1 thread): %.1f MB/s", float64(fileBytes(b, path))/s/1e6)
	return s
}

func gdalTranslateOnce(b *testing.B, path string) {
	out := filepath.Join(b.TempDir(), "out.envi")
	cmd := exec.Command("gdal_translate", "-q", "-of", "ENVI", path, out)
	cmd.Env = append(os.Environ(), "GDAL_NUM_THREADS=1", "GDAL_PAM_ENABLED=NO")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gdal_translate: %v\n%s", err, msg)
	}
	os.Remove(out)
}

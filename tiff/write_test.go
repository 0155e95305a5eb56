package tiff

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// dirEntries lists a folder's file names.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestCOGWriteFailureLeavesNothing checks that aborted, incomplete and
// failed writes leave neither the output nor temporary files.
func TestCOGWriteFailureLeavesNothing(t *testing.T) {
	o := WriteOptions{Width: 300, Height: 200, Bands: 2, DType: Uint16, BlockSize: 64, Overviews: -1}
	bands := synthBands(o, 1)
	wins := randomWindows(o.Width, o.Height, 97, rand.New(rand.NewPCG(3, 4)))
	if len(wins) < 4 {
		t.Fatalf("only %d windows", len(wins))
	}
	cases := map[string]func(t *testing.T, w *COGWriter) error{
		"abort": func(t *testing.T, w *COGWriter) error {
			if err := writeConcurrently(w, bands, o, wins[:len(wins)/2]); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteWindow(0, 0, 1, 1, [][]byte{{0, 0}, {0, 0}}); !errors.Is(err, ErrClosed) {
				t.Errorf("write after abort: %v", err)
			}
			return w.Close()
		},
		"incomplete": func(t *testing.T, w *COGWriter) error {
			if err := writeConcurrently(w, bands, o, wins[1:]); err != nil {
				t.Fatal(err)
			}
			return w.Close()
		},
		"overlap": func(t *testing.T, w *COGWriter) error {
			if err := writeConcurrently(w, bands, o, wins[:len(wins)/2]); err != nil {
				t.Fatal(err)
			}
			win := wins[0]
			if err := w.WriteWindow(win.x, win.y, win.w, win.h, cutWindow(bands, o.Width, 2, win)); err == nil {
				t.Error("overlapping window accepted")
			}
			if err := writeConcurrently(w, bands, o, wins[len(wins)/2:]); err == nil {
				t.Error("writes after a failure accepted")
			}
			return w.Close()
		},
		"bad window": func(t *testing.T, w *COGWriter) error {
			if err := w.WriteWindow(290, 0, 20, 1, [][]byte{make([]byte, 40), make([]byte, 40)}); err == nil {
				t.Error("window outside the raster accepted")
			}
			if err := w.WriteWindow(0, 0, 2, 1, [][]byte{make([]byte, 4)}); err == nil {
				t.Error("missing band accepted")
			}
			return w.Close()
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := CreateCOG(filepath.Join(dir, "out.tif"), o)
			if err != nil {
				t.Fatal(err)
			}
			if err := run(t, w); err == nil {
				t.Error("Close succeeded")
			}
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Errorf("left behind: %v", names)
			}
		})
	}
	t.Run("bad temp dir", func(t *testing.T) {
		dir := t.TempDir()
		o := o
		o.TempDir = filepath.Join(dir, "missing")
		if _, err := CreateCOG(filepath.Join(dir, "out.tif"), o); err == nil {
			t.Error("CreateCOG succeeded with a missing spool folder")
		}
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Errorf("left behind: %v", names)
		}
	})
	t.Run("success", func(t *testing.T) {
		dir := t.TempDir()
		w, err := CreateCOG(filepath.Join(dir, "out.tif"), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeConcurrently(w, bands, o, wins); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if names := dirEntries(t, dir); len(names) != 1 || names[0] != "out.tif" {
			t.Errorf("folder holds %v, want only out.tif", names)
		}
	})
}

func TestWriteOptionsRejected(t *testing.T) {
	base := WriteOptions{Width: 10, Height: 10, Bands: 1, DType: Uint8}
	bad := []func(o *WriteOptions){
		func(o *WriteOptions) { o.Width = 0 },
		func(o *WriteOptions) { o.Bands = 0 },
		func(o *WriteOptions) { o.DType = Invalid },
		func(o *WriteOptions) { o.BlockSize = 100 },
		func(o *WriteOptions) { o.Compression = CompressionJPEG },
		func(o *WriteOptions) { o.Predictor = PredictorFloatingPoint },
		func(o *WriteOptions) { o.Resampling = "cubic" },
		func(o *WriteOptions) { o.BigTIFF = "maybe" },
		func(o *WriteOptions) { o.Bands = 2; o.ColorMap = [][3]uint16{{1, 2, 3}} },
		func(o *WriteOptions) { o.BandDescriptions = []string{"a", "b"} },
		func(o *WriteOptions) { o.Compression = CompressionDeflate; o.Level = 12 },
	}
	for i, f := range bad {
		o := base
		f(&o)
		if _, err := CreateCOG(filepath.Join(t.TempDir(), "x.tif"), o); err == nil {
			t.Errorf("case %d accepted: %+v", i, o)
		}
	}
}

// stripSource makes 512-row strips of a smooth uint16 field with noise
// without holding the raster.
type stripSource struct {
	w, h int
	col  []uint16
}

func newStripSource(w, h int) *stripSource {
	s := &stripSource{w: w, h: h, col: make([]uint16, w)}
	for x := range s.col {
		s.col[x] = uint16(2000 + 1000*((x/97)%5) + x%61)
	}
	return s
}

func (s *stripSource) strip(y0, rows int, seed uint64) []byte {
	buf := make([]byte, s.w*rows*2)
	r := seed | 1
	for y := 0; y < rows; y++ {
		base := uint16((y0 + y) % 509)
		for x := 0; x < s.w; x++ {
			r ^= r << 13
			r ^= r >> 7
			r ^= r << 17
			binary.LittleEndian.PutUint16(buf[2*(y*s.w+x):], s.col[x]+base+uint16(r&15))
		}
	}
	return buf
}

// TestCOGWriteMemoryBounded streams an 8192x8192 uint16 raster (128 MiB of
// pixels; COG_MEMTEST_SIZE=16384 for 512 MiB) in 512-row strips and checks
// the writer's live heap stays below a tenth of it.
func TestCOGWriteMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("large raster; skipped in -short")
	}
	n, rows := 8192, 512
	if s := os.Getenv("COG_MEMTEST_SIZE"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	o := WriteOptions{Width: n, Height: n, Bands: 1, DType: Uint16, Compression: CompressionZSTD, Level: 1, Overviews: -1}
	dir := t.TempDir()
	w, err := CreateCOG(filepath.Join(dir, "big.tif"), o)
	if err != nil {
		t.Fatal(err)
	}
	src := newStripSource(n, n)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	var mu sync.Mutex
	var wg sync.WaitGroup
	strips := make(chan int)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for y := range strips {
				if err := w.WriteWindow(0, y, n, rows, [][]byte{src.strip(y, rows, uint64(y))}); err != nil {
					t.Error(err)
				}
				// Live heap: collect first, so garbage awaiting the
				// collector is not counted.
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mu.Lock()
				peak = max(peak, ms.HeapInuse)
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for y := 0; y < n; y += rows {
		strips <- y
	}
	close(strips)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raster := uint64(n * n * 2)
	grow := peak - min(base, peak)
	// The two strips being written belong to the caller.
	strips2 := uint64(2 * n * rows * 2)
	t.Logf("raster %d MiB, heap in use grew by at most %d MiB (%.1f%%, of which %d MiB are the 2 strips in flight), %v",
		raster>>20, grow>>20, 100*float64(grow)/float64(raster), strips2>>20, time.Since(start))
	if grow > strips2+raster/10 {
		t.Errorf("heap grew by %d MiB for a %d MiB raster", grow>>20, raster>>20)
	}
}

// BenchmarkCOGWriteDeflatePred2 encodes a 4096x4096 uint16 raster of real
// Sentinel-2 reflectance (B04 upsampled by GDAL) with Deflate and
// predictor 2, overviews included, fed in 512-row strips. The "gdal" metric
// is gdal_translate -of COG -co COMPRESS=DEFLATE -co PREDICTOR=2 on the
// same raw pixels, timed once in the same benchmark.
func BenchmarkCOGWriteDeflatePred2(b *testing.B) {
	needRealData(b)
	if _, err := exec.LookPath("gdal_translate"); err != nil {
		b.Skip("gdal_translate absent")
	}
	const n = 4096
	dir := b.TempDir()
	raw := filepath.Join(dir, "b04.bil")
	cmd := exec.Command("gdal_translate", "-q", "-of", "ENVI", "-outsize", "4096", "4096", "-r", "bilinear",
		"-co", "INTERLEAVE=BSQ", realData+"/s2-l2a-29rkh/B04.tif", raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gdal_translate: %v\n%s", err, out)
	}
	pix, err := os.ReadFile(raw)
	if err != nil || len(pix) != n*n*2 {
		b.Fatalf("raw pixels: %v (%d bytes)", err, len(pix))
	}
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("goroutines="+itoa(threads), func(b *testing.B) {
			b.SetBytes(int64(len(pix)))
			var size int64
			for i := 0; i < b.N; i++ {
				out := filepath.Join(dir, "go.tif")
				w, err := CreateCOG(out, WriteOptions{Width: n, Height: n, Bands: 1, DType: Uint16,
					Compression: CompressionDeflate, Predictor: PredictorHorizontal, Overviews: -1})
				if err != nil {
					b.Fatal(err)
				}
				strips := make(chan int)
				var wg sync.WaitGroup
				for g := 0; g < threads; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for y := range strips {
							if err := w.WriteWindow(0, y, n, 512, [][]byte{pix[y*n*2 : (y+512)*n*2]}); err != nil {
								b.Error(err)
							}
						}
					}()
				}
				for y := 0; y < n; y += 512 {
					strips <- y
				}
				close(strips)
				wg.Wait()
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				st, _ := os.Stat(out)
				size = st.Size()
			}
			b.ReportMetric(float64(size)/float64(len(pix)), "ratio")
		})
	}
	b.Run("gdal_translate", func(b *testing.B) {
		b.SetBytes(int64(len(pix)))
		var size int64
		for i := 0; i < b.N; i++ {
			out := filepath.Join(dir, "gdal.tif")
			os.Remove(out)
			cmd := exec.Command("gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2", raw, out)
			if o, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("gdal_translate: %v\n%s", err, o)
			}
			st, _ := os.Stat(out)
			size = st.Size()
		}
		b.ReportMetric(float64(size)/float64(len(pix)), "ratio")
	})
}

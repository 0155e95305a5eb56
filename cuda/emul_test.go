package cuda

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests against the CPU emulation of the driver (fake_test.go).

func openFake(t *testing.T, opt DeviceOptions) *Device {
	t.Helper()
	drv := fakeDriver(t, 1<<30)
	live := fake.liveAllocs()
	dv, err := drv.Open(0, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dv.Close(); err != nil {
			t.Error(err)
		}
		if n := fake.liveAllocs() - live; n != 0 {
			t.Errorf("%d device allocations leaked after Close", n)
		}
	})
	return dv
}

func TestEmulDevices(t *testing.T) {
	drv := fakeDriver(t, 3<<30)
	devs, err := drv.Devices()
	if err != nil {
		t.Fatal(err)
	}
	want := DeviceInfo{Ordinal: 0, Name: "Fake CUDA device (CPU emulation)", TotalMemory: 3 << 30,
		ComputeMajor: 8, ComputeMinor: 6, Multiprocessors: 4}
	if len(devs) != 1 || devs[0] != want {
		t.Fatalf("Devices() = %+v, want [%+v]", devs, want)
	}
	if drv.Version() != 12040 {
		t.Errorf("Version() = %d", drv.Version())
	}
	if _, err := drv.Open(1, DeviceOptions{}); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Open(1): %v, want ErrNoDevice", err)
	}
}

func TestEmulIndices(t *testing.T) {
	for _, offset := range []float32{0, -1000} {
		t.Run(fmt.Sprint("offset", offset), func(t *testing.T) {
			dv := openFake(t, DeviceOptions{ChunkRows: 3000})
			testIndices(t, dv, 20_000, offset, true)
			if st := dv.PoolStats(); st.Used != 0 || st.Allocs != st.Frees {
				t.Errorf("pool not balanced: %+v", st)
			}
		})
	}
}

func TestEmulForest(t *testing.T) {
	dv := openFake(t, DeviceOptions{ChunkRows: 5000})
	testForest(t, dv, 12_345, false)
	testForest(t, dv, 777, true)
	if st := dv.PoolStats(); st.Used != 0 {
		t.Errorf("closed forests left %d bytes in use", st.Used)
	}
}

func TestEmulPoolSteady(t *testing.T) {
	testPoolSteady(t, openFake(t, DeviceOptions{}))
}

func TestEmulStreamsLargerThanPool(t *testing.T) {
	testStreamsLargerThanPool(t, fakeDriver(t, 1<<30), 100_000, 256<<10)
}

// TestEmulChunking checks the chunking: with 3 streams and small
// chunks every chunk is one launch per spec group, on alternating streams.
func TestEmulChunking(t *testing.T) {
	dv := openFake(t, DeviceOptions{Streams: 3, ChunkRows: 1000})
	before := fake.launches()
	testIndices(t, dv, 10_500, 0, true) // 11 chunks, 2 spec groups
	if got := fake.launches() - before; got != 22 {
		t.Errorf("%d kernel launches, want 22", got)
	}
}

func TestEmulOutOfMemory(t *testing.T) {
	drv := fakeDriver(t, 1<<20)
	dv, err := drv.Open(0, DeviceOptions{PoolLimit: 64 << 20}) // a limit above the device's memory
	if err != nil {
		t.Fatal(err)
	}
	defer dv.Close()
	err = dv.Indices(context.Background(), randomBands(1<<20, 1), nil, s2Specs, 1e-4, 0, map[string][]float32{})
	if !IsOutOfMemory(err) {
		t.Fatalf("got %v, want CUDA_ERROR_OUT_OF_MEMORY", err)
	}
	if want := "cuda: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (out of memory)"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestEmulDefaultPoolLimit(t *testing.T) {
	drv := fakeDriver(t, 400<<20)
	dv, err := drv.Open(0, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dv.Close()
	if got := dv.PoolStats().Limit; got != 300<<20 {
		t.Fatalf("default pool limit %d, want 3/4 of the free memory (%d)", got, 300<<20)
	}
}

func TestEmulClosed(t *testing.T) {
	drv := fakeDriver(t, 1<<30)
	dv, err := drv.Open(0, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := randomForest(1, 2, 3, 2, 2)
	df, err := dv.LoadForest(f)
	if err != nil {
		t.Fatal(err)
	}
	df.Close()
	if err := df.Predict(context.Background(), randomFeatures(10, 2, 1), make([]uint8, 10), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Predict after forest Close: %v", err)
	}
	if err := dv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dv.Indices(context.Background(), randomBands(10, 1), nil, s2Specs, 1e-4, 0, map[string][]float32{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Indices after Close: %v", err)
	}
	if _, err := dv.LoadForest(f); !errors.Is(err, ErrClosed) {
		t.Errorf("LoadForest after Close: %v", err)
	}
	if n := fake.liveAllocs(); n != 0 {
		t.Errorf("%d allocations leaked", n)
	}
}

func TestEmulCanceled(t *testing.T) {
	dv := openFake(t, DeviceOptions{ChunkRows: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := dv.Indices(ctx, randomBands(5000, 1), nil, s2Specs, 1e-4, 0, map[string][]float32{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if st := dv.PoolStats(); st.Used != 0 {
		t.Fatalf("canceled run left %d bytes in use", st.Used)
	}
}

// TestEmulPTXCache checks that compiled PTX is written to CacheDir and read
// back, keyed by the target architecture (8.6 device, NVRTC up to 8.0).
func TestEmulPTXCache(t *testing.T) {
	dir := t.TempDir()
	dv := openFake(t, DeviceOptions{CacheDir: dir})
	testForest(t, dv, 100, false)
	files, _ := filepath.Glob(filepath.Join(dir, "*.ptx"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v, want one PTX file", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !strings.Contains(string(b), "compute_80") {
		t.Fatalf("cached PTX %q (%v), want compute_80", b, err)
	}
	// A second device compiles nothing: a cache entry it could not have
	// produced itself (the fake NVRTC never writes "reused") is loaded.
	os.WriteFile(files[0], append([]byte("// fake PTX reused\n"), 0), 0o644)
	dv2 := openFake(t, DeviceOptions{CacheDir: dir})
	if _, err := dv2.function("rf_forest"); err != nil {
		t.Fatal(err)
	}
	// A corrupt entry (the fake driver rejects it) is reported as such.
	os.WriteFile(files[0], []byte("garbage\x00"), 0o644)
	dv3 := openFake(t, DeviceOptions{CacheDir: dir})
	exit, _ := dv3.enter()
	_, err = dv3.function("rf_forest")
	exit()
	if err == nil || !strings.Contains(err.Error(), "cuModuleLoadData: CUDA_ERROR_INVALID_PTX") {
		t.Fatalf("corrupt cache entry: %v", err)
	}
}

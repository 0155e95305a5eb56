package cuda

import (
	"context"
	"testing"
)

// Tests and benchmarks on a real GPU (names contain GPU; see
// testdata/gpu-check.sh). They skip, saying why, where there is none.

func gpuDriver(tb testing.TB) *Driver {
	tb.Helper()
	drv, err := Load()
	if err != nil {
		tb.Skipf("cuda: no GPU test: %v", err)
	}
	if _, err := drv.NVRTC(); err != nil {
		tb.Skipf("cuda: no GPU test: %v", err)
	}
	devs, err := drv.Devices()
	if err != nil {
		tb.Fatal(err)
	}
	if len(devs) == 0 {
		tb.Skip("cuda: no GPU test: the driver reports no CUDA device")
	}
	tb.Logf("device %v, driver %d", devs[0], drv.Version())
	return drv
}

func gpuDevice(tb testing.TB, opt DeviceOptions) *Device {
	tb.Helper()
	dv, err := gpuDriver(tb).Open(0, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := dv.Close(); err != nil {
			tb.Error(err)
		}
	})
	return dv
}

func TestGPUIndices(t *testing.T) {
	dv := gpuDevice(t, DeviceOptions{})
	testIndices(t, dv, 3_000_000, -1000, false)
	testIndices(t, dv, 1_000_001, 0, false)
}

func TestGPUForest(t *testing.T) {
	dv := gpuDevice(t, DeviceOptions{})
	testForest(t, dv, 2_000_000, false)
	testForest(t, dv, 99_999, true)
}

func TestGPUPoolSteady(t *testing.T) {
	testPoolSteady(t, gpuDevice(t, DeviceOptions{}))
}

func TestGPUStreamsLargerThanPool(t *testing.T) {
	testStreamsLargerThanPool(t, gpuDriver(t), 20_000_000, 64<<20)
}

// BenchmarkGPUMemcpyD2D measures device-to-device copy bandwidth, the bound
// BenchmarkGPUIndices is compared with (read + write bytes per second).
func BenchmarkGPUMemcpyD2D(b *testing.B) {
	dv := gpuDevice(b, DeviceOptions{})
	const n = 256 << 20
	exit, err := dv.enter()
	if err != nil {
		b.Fatal(err)
	}
	defer exit()
	src, err := dv.pool.alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	dst, err := dv.pool.alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	defer dv.pool.release(src)
	defer dv.pool.release(dst)
	api, s := &dv.drv.api, dv.slots[0].stream
	b.SetBytes(2 * n) // read and written
	b.ResetTimer()
	for b.Loop() {
		if err := dv.drv.check("cuMemcpyDtoDAsync_v2", api.cuMemcpyDtoDAsync(dst.ptr, src.ptr, n, s)); err != nil {
			b.Fatal(err)
		}
		if err := dv.drv.check("cuStreamSynchronize", api.cuStreamSynchronize(s)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGPUIndices measures Indices end to end (host staging, PCIe both
// ways, kernel) over a 10980² Sentinel-2 tile's 6 bands and 8 indices, and
// the kernel alone on data resident on the device, as device bytes moved
// per second (compare with BenchmarkGPUMemcpyD2D).
func BenchmarkGPUIndices(b *testing.B) {
	dv := gpuDevice(b, DeviceOptions{})
	const n = 10980 * 10980 / 4 // a quarter tile keeps host memory modest
	bands := randomBands(n, 1)
	out := map[string][]float32{}
	ctx := context.Background()
	b.Run("end-to-end", func(b *testing.B) {
		b.SetBytes(int64(n) * int64(len(s2Bands)*2+len(s2Specs)*4))
		for b.Loop() {
			if err := dv.Indices(ctx, bands, nil, s2Specs, 1e-4, -1000, out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
	})
	b.Run("kernel", func(b *testing.B) {
		p, err := planIndices(bands, nil, s2Specs, out)
		if err != nil {
			b.Fatal(err)
		}
		const m = 1 << 24
		exit, err := dv.enter()
		if err != nil {
			b.Fatal(err)
		}
		defer exit()
		in, err := dv.pool.alloc(int64(m) * int64(len(p.bands)) * 2)
		if err != nil {
			b.Fatal(err)
		}
		o, err := dv.pool.alloc(int64(m) * int64(len(s2Specs)) * 4)
		if err != nil {
			b.Fatal(err)
		}
		defer dv.pool.release(in)
		defer dv.pool.release(o)
		tab := specTable(s2Specs, p.spec, 0)
		s := dv.slots[0].stream
		b.SetBytes(int64(m) * int64(len(p.bands)*2+len(s2Specs)*4))
		for b.Loop() {
			if err := dv.launch("rf_indices", m, s, in.ptr, int32(len(p.bands)), int32(m), float32(1e-4), float32(-1000),
				int32(1), uint32(0), tab, o.ptr); err != nil {
				b.Fatal(err)
			}
			if err := dv.drv.check("cuStreamSynchronize", dv.drv.api.cuStreamSynchronize(s)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(m)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
	})
}

// BenchmarkGPUForest measures DeviceForest.Predict end to end: 100 trees of
// depth 12 over 12 features, 11 classes (a WorldCover-like model).
func BenchmarkGPUForest(b *testing.B) {
	dv := gpuDevice(b, DeviceOptions{})
	f := randomForest(3, 100, 12, 12, 11)
	df, err := dv.LoadForest(f)
	if err != nil {
		b.Fatal(err)
	}
	defer df.Close()
	const n = 1 << 23
	X := randomFeatures(n, f.NumFeatures, 1)
	class, conf := make([]uint8, n), make([]float32, n)
	ctx := context.Background()
	for b.Loop() {
		if err := df.Predict(ctx, X, class, conf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
}

// BenchmarkForestCPU is the reference predictor on the same model, for scale.
func BenchmarkForestCPU(b *testing.B) {
	f := randomForest(3, 100, 12, 12, 11)
	const n = 1 << 16
	X := randomFeatures(n, f.NumFeatures, 1)
	class := make([]uint8, n)
	for b.Loop() {
		if err := f.Predict(X, class, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
}

// BenchmarkIndicesCPU is the reference indices on one core, for scale.
func BenchmarkIndicesCPU(b *testing.B) {
	const n = 1 << 20
	bands := randomBands(n, 1)
	out := map[string][]float32{}
	b.SetBytes(int64(n) * int64(len(s2Bands)*2+len(s2Specs)*4))
	for b.Loop() {
		if err := IndicesCPU(bands, nil, s2Specs, 1e-4, -1000, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
}

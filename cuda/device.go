package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// DeviceOptions configures Open. Zero values pick the defaults.
type DeviceOptions struct {
	// PoolLimit caps the device memory the pool holds, in bytes; 0 means
	// three quarters of the memory free when the device is opened.
	PoolLimit int64
	// Streams is the number of streams chunks alternate between (so that
	// copies of one chunk overlap the kernel of another); 0 means 2.
	Streams int
	// ChunkRows caps the pixels per chunk; 0 means 1<<22. Chunks are also
	// made small enough for all streams' buffers to fit PoolLimit.
	ChunkRows int
	// BlockSize is the threads per block of the kernels; 0 means 256.
	BlockSize int
	// CacheDir keeps compiled PTX between runs (see DefaultCacheDir); ""
	// compiles at first use in every process.
	CacheDir string
}

// Device is an opened CUDA device: its primary context, streams, memory
// pool, pinned staging buffers and compiled kernels. Methods may be called
// from any goroutine; chunked work (Indices, Predict) is serialised per
// Device because it shares the streams and staging buffers.
type Device struct {
	drv  *Driver
	info DeviceInfo
	dev  int32
	ctx  uintptr
	opt  DeviceOptions
	pool *pool

	mu     sync.Mutex // guards slots, and closed
	slots  []*slot
	closed bool

	modMu  sync.Mutex
	mod    uintptr
	modErr error
	arch   int
	funcs  map[string]uintptr
}

// slot is one stream with its pinned staging buffers.
type slot struct {
	stream          uintptr
	hostIn, hostOut pinned
}

// pinned is page-locked host memory, kept and grown as needed.
type pinned struct {
	ptr unsafe.Pointer
	n   int64
}

func (p *pinned) bytes(n int64) []byte { return unsafe.Slice((*byte)(p.ptr), n) }

// Open retains the primary context of device ordinal and creates its
// streams and memory pool.
func (d *Driver) Open(ordinal int, opt DeviceOptions) (*Device, error) {
	info, dev, err := d.deviceInfo(ordinal)
	if err != nil {
		return nil, err
	}
	if opt.Streams <= 0 {
		opt.Streams = 2
	}
	if opt.ChunkRows <= 0 {
		opt.ChunkRows = 1 << 22
	}
	if opt.BlockSize <= 0 {
		opt.BlockSize = 256
	}
	if opt.BlockSize > 1024 || opt.BlockSize%32 != 0 {
		return nil, fmt.Errorf("cuda: BlockSize %d: want a multiple of 32 up to 1024", opt.BlockSize)
	}
	dv := &Device{drv: d, info: info, dev: dev, opt: opt, funcs: map[string]uintptr{}}
	if err := d.check("cuDevicePrimaryCtxRetain", d.api.cuDevicePrimaryCtxRetain(&dv.ctx, dev)); err != nil {
		return nil, err
	}
	fail := func(err error) (*Device, error) {
		dv.Close()
		return nil, err
	}
	exit, err := dv.enter()
	if err != nil {
		return fail(err)
	}
	defer exit()
	if opt.PoolLimit <= 0 {
		var free, total uint64
		if err := d.check("cuMemGetInfo_v2", d.api.cuMemGetInfo(&free, &total)); err != nil {
			return fail(err)
		}
		dv.opt.PoolLimit = int64(free / 4 * 3)
	}
	dv.pool = newPool(deviceBackend{d}, dv.opt.PoolLimit)
	for range opt.Streams {
		s := &slot{}
		const nonBlocking = 1 // CU_STREAM_NON_BLOCKING: no implicit sync with stream 0
		if err := d.check("cuStreamCreate", d.api.cuStreamCreate(&s.stream, nonBlocking)); err != nil {
			return fail(err)
		}
		dv.slots = append(dv.slots, s)
	}
	return dv, nil
}

// Info describes the device.
func (dv *Device) Info() DeviceInfo { return dv.info }

// PoolStats returns the memory pool's statistics.
func (dv *Device) PoolStats() PoolStats { return dv.pool.stats() }

// PinnedBytes is the page-locked host memory held for staging.
func (dv *Device) PinnedBytes() int64 {
	dv.mu.Lock()
	defer dv.mu.Unlock()
	var n int64
	for _, s := range dv.slots {
		n += s.hostIn.n + s.hostOut.n
	}
	return n
}

// TrimPool gives the pool's cached blocks back to the driver.
func (dv *Device) TrimPool() error {
	exit, err := dv.enter()
	if err != nil {
		return err
	}
	defer exit()
	dv.pool.trim()
	return nil
}

// enter makes the device's context current on a locked OS thread; call the
// returned function when done. Driver calls that use the context must run
// between the two.
func (dv *Device) enter() (func(), error) {
	runtime.LockOSThread()
	if err := dv.drv.check("cuCtxSetCurrent", dv.drv.api.cuCtxSetCurrent(dv.ctx)); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return runtime.UnlockOSThread, nil
}

// Close waits for the streams, frees the staging buffers, the pool's cached
// memory and the module, and releases the primary context. Memory of
// DeviceForests not closed is released with the context.
func (dv *Device) Close() error {
	dv.mu.Lock()
	defer dv.mu.Unlock()
	if dv.closed {
		return nil
	}
	dv.closed = true
	api := &dv.drv.api
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if dv.ctx != 0 {
		if exit, err := dv.enter(); err != nil {
			keep(err)
		} else {
			for _, s := range dv.slots {
				keep(dv.drv.check("cuStreamSynchronize", api.cuStreamSynchronize(s.stream)))
				keep(dv.drv.check("cuStreamDestroy_v2", api.cuStreamDestroy(s.stream)))
				dv.freePinned(&s.hostIn)
				dv.freePinned(&s.hostOut)
			}
			if dv.pool != nil {
				dv.pool.trim()
			}
			if dv.mod != 0 {
				keep(dv.drv.check("cuModuleUnload", api.cuModuleUnload(dv.mod)))
			}
			exit()
		}
		keep(dv.drv.check("cuDevicePrimaryCtxRelease_v2", api.cuDevicePrimaryCtxRelease(dv.dev)))
	}
	return first
}

// deviceBackend allocates with cuMemAlloc; the context must be current.
type deviceBackend struct{ d *Driver }

func (b deviceBackend) alloc(n int64) (uint64, error) {
	var p uint64
	err := b.d.check("cuMemAlloc_v2", b.d.api.cuMemAlloc(&p, uint64(n)))
	return p, err
}

func (b deviceBackend) free(p uint64) error {
	return b.d.check("cuMemFree_v2", b.d.api.cuMemFree(p))
}

// growPinned makes p at least n bytes (the context must be current).
func (dv *Device) growPinned(p *pinned, n int64) error {
	if p.n >= n {
		return nil
	}
	dv.freePinned(p)
	n = sizeClass(n)
	const portable = 1 // CU_MEMHOSTALLOC_PORTABLE
	var ptr unsafe.Pointer
	if err := dv.drv.check("cuMemHostAlloc", dv.drv.api.cuMemHostAlloc(&ptr, uint64(n), portable)); err != nil {
		return err
	}
	p.ptr, p.n = ptr, n
	return nil
}

func (dv *Device) freePinned(p *pinned) {
	if p.ptr != nil {
		dv.drv.api.cuMemFreeHost(p.ptr)
	}
	p.ptr, p.n = nil, 0
}

// function returns a kernel of the package's module, compiling and loading
// it on first use (the context must be current).
func (dv *Device) function(name string) (uintptr, error) {
	dv.modMu.Lock()
	defer dv.modMu.Unlock()
	if f, ok := dv.funcs[name]; ok {
		return f, nil
	}
	if dv.mod == 0 && dv.modErr == nil {
		dv.modErr = dv.loadModule()
	}
	if dv.modErr != nil {
		return 0, dv.modErr
	}
	var f uintptr
	if err := dv.drv.check("cuModuleGetFunction", dv.drv.api.cuModuleGetFunction(&f, dv.mod, name)); err != nil {
		return 0, fmt.Errorf("%w (kernel %s)", err, name)
	}
	dv.funcs[name] = f
	return f, nil
}

func (dv *Device) loadModule() error {
	nv := dv.drv.nvrtc
	if nv == nil {
		return dv.drv.nvrtcErr
	}
	arch, err := nv.targetArch(dv.info.ComputeMajor, dv.info.ComputeMinor)
	if err != nil {
		return err
	}
	ptx, err := nv.compile(kernelSource, "rasterflow_kernels.cu", arch, dv.opt.CacheDir)
	if err != nil {
		return err
	}
	var m uintptr
	err = dv.drv.check("cuModuleLoadData", dv.drv.api.cuModuleLoadData(&m, unsafe.Pointer(&ptx[0])))
	runtime.KeepAlive(ptx)
	if err != nil {
		return fmt.Errorf("%w (PTX for compute_%d from NVRTC %d.%d, driver %d)", err, arch, nv.major, nv.minor, dv.drv.version)
	}
	dv.mod, dv.arch = m, arch
	return nil
}

// kernelArgs marshals kernel parameters for cuLaunchKernel: each value is
// stored in its own 8-byte-aligned slot and params points at the slots.
// Values are uint64 (device pointers), int32, uint32, float32 or []byte (a
// struct passed by value).
type kernelArgs struct {
	slots  [][]uint64
	params []unsafe.Pointer
}

func newKernelArgs(vals ...any) (*kernelArgs, error) {
	a := &kernelArgs{}
	for i, v := range vals {
		var b []byte
		switch x := v.(type) {
		case uint64:
			b = binary.LittleEndian.AppendUint64(nil, x)
		case int32:
			b = binary.LittleEndian.AppendUint32(nil, uint32(x))
		case uint32:
			b = binary.LittleEndian.AppendUint32(nil, x)
		case float32:
			b = binary.LittleEndian.AppendUint32(nil, math.Float32bits(x))
		case []byte:
			b = x
		default:
			return nil, fmt.Errorf("cuda: kernel argument %d has unsupported type %T", i, v)
		}
		s := make([]uint64, (len(b)+7)/8)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*8), b)
		a.slots = append(a.slots, s)
		a.params = append(a.params, unsafe.Pointer(&s[0]))
	}
	return a, nil
}

// launch runs kernel name over n threads (1-D grid) on stream s.
func (dv *Device) launch(name string, n int, s uintptr, vals ...any) error {
	f, err := dv.function(name)
	if err != nil {
		return err
	}
	args, err := newKernelArgs(vals...)
	if err != nil {
		return err
	}
	bs := dv.opt.BlockSize
	grid := (n + bs - 1) / bs
	if grid <= 0 || grid > math.MaxInt32 {
		return fmt.Errorf("cuda: launch %s over %d threads: grid of %d blocks", name, n, grid)
	}
	r := dv.drv.api.cuLaunchKernel(f, uint32(grid), 1, 1, uint32(bs), 1, 1, 0, s, unsafe.Pointer(&args.params[0]), nil)
	runtime.KeepAlive(args)
	if err := dv.drv.check("cuLaunchKernel", r); err != nil {
		return fmt.Errorf("%w (kernel %s)", err, name)
	}
	return nil
}

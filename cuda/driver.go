package cuda

import (
	"fmt"
	"unsafe"
)

// cuResult is CUresult.
type cuResult int32

// driverAPI holds the driver entry points this package uses; the versioned
// symbol each is bound to is listed in Load.
type driverAPI struct {
	cuInit                    func(flags uint32) cuResult
	cuDriverGetVersion        func(v *int32) cuResult
	cuGetErrorName            func(r cuResult, s **byte) cuResult
	cuGetErrorString          func(r cuResult, s **byte) cuResult
	cuDeviceGetCount          func(n *int32) cuResult
	cuDeviceGet               func(d *int32, ordinal int32) cuResult
	cuDeviceGetName           func(name *byte, n int32, d int32) cuResult
	cuDeviceTotalMem          func(b *uint64, d int32) cuResult
	cuDeviceGetAttribute      func(v *int32, attr int32, d int32) cuResult
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, d int32) cuResult
	cuDevicePrimaryCtxRelease func(d int32) cuResult
	cuCtxSetCurrent           func(ctx uintptr) cuResult
	cuMemGetInfo              func(free, total *uint64) cuResult
	cuStreamCreate            func(s *uintptr, flags uint32) cuResult
	cuStreamDestroy           func(s uintptr) cuResult
	cuStreamSynchronize       func(s uintptr) cuResult
	cuMemAlloc                func(p *uint64, n uint64) cuResult
	cuMemFree                 func(p uint64) cuResult
	cuMemHostAlloc            func(p *unsafe.Pointer, n uint64, flags uint32) cuResult
	cuMemFreeHost             func(p unsafe.Pointer) cuResult
	cuMemcpyHtoDAsync         func(dst uint64, src unsafe.Pointer, n uint64, s uintptr) cuResult
	cuMemcpyDtoHAsync         func(dst unsafe.Pointer, src uint64, n uint64, s uintptr) cuResult
	cuMemcpyDtoDAsync         func(dst, src uint64, n uint64, s uintptr) cuResult
	cuModuleLoadData          func(m *uintptr, image unsafe.Pointer) cuResult
	cuModuleUnload            func(m uintptr) cuResult
	cuModuleGetFunction       func(f *uintptr, m uintptr, name string) cuResult
	cuLaunchKernel            func(f uintptr, gx, gy, gz, bx, by, bz, shmem uint32, s uintptr, params, extra unsafe.Pointer) cuResult
}

// Device attributes (CUdevice_attribute).
const (
	attrMultiprocessorCount = 16
	attrPCIBusID            = 33
	attrComputeMajor        = 75
	attrComputeMinor        = 76
)

// Driver is the loaded CUDA driver (and NVRTC, if found). It holds function
// pointers only; it is safe for concurrent use.
type Driver struct {
	lib     library
	api     driverAPI
	version int // e.g. 12040 for CUDA 12.4

	nvrtc    *nvrtc // nil when nvrtcErr is set
	nvrtcErr error
}

// LoadOptions overrides the shared-library names Load tries.
type LoadOptions struct {
	// Driver is the driver library; "" means "libcuda.so.1".
	Driver string
	// NVRTC lists NVRTC libraries to try in order; empty means
	// libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so.
	NVRTC []string
}

// Load opens the CUDA driver and NVRTC from the default library names and
// initialises the driver. Without an NVIDIA driver the error wraps
// ErrNoDriver. A missing NVRTC is not an error here: Devices works and the
// kernels fail with ErrNoNVRTC.
func Load() (*Driver, error) { return LoadWith(LoadOptions{}) }

// LoadWith is Load with other library names or paths.
func LoadWith(opt LoadOptions) (*Driver, error) {
	name := opt.Driver
	if name == "" {
		name = "libcuda.so.1"
	}
	lib, err := openLibrary([]string{name})
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoDriver, err)
	}
	d := &Driver{lib: lib}
	a := &d.api
	if err := lib.bind([]binding{
		{&a.cuInit, "cuInit"},
		{&a.cuDriverGetVersion, "cuDriverGetVersion"},
		{&a.cuGetErrorName, "cuGetErrorName"},
		{&a.cuGetErrorString, "cuGetErrorString"},
		{&a.cuDeviceGetCount, "cuDeviceGetCount"},
		{&a.cuDeviceGet, "cuDeviceGet"},
		{&a.cuDeviceGetName, "cuDeviceGetName"},
		{&a.cuDeviceTotalMem, "cuDeviceTotalMem_v2"},
		{&a.cuDeviceGetAttribute, "cuDeviceGetAttribute"},
		{&a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
		{&a.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
		{&a.cuCtxSetCurrent, "cuCtxSetCurrent"},
		{&a.cuMemGetInfo, "cuMemGetInfo_v2"},
		{&a.cuStreamCreate, "cuStreamCreate"},
		{&a.cuStreamDestroy, "cuStreamDestroy_v2"},
		{&a.cuStreamSynchronize, "cuStreamSynchronize"},
		{&a.cuMemAlloc, "cuMemAlloc_v2"},
		{&a.cuMemFree, "cuMemFree_v2"},
		{&a.cuMemHostAlloc, "cuMemHostAlloc"},
		{&a.cuMemFreeHost, "cuMemFreeHost"},
		{&a.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
		{&a.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
		{&a.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"},
		{&a.cuModuleLoadData, "cuModuleLoadData"},
		{&a.cuModuleUnload, "cuModuleUnload"},
		{&a.cuModuleGetFunction, "cuModuleGetFunction"},
		{&a.cuLaunchKernel, "cuLaunchKernel"},
	}); err != nil {
		return nil, err
	}
	if err := d.check("cuInit", a.cuInit(0)); err != nil {
		return nil, err
	}
	var v int32
	if err := d.check("cuDriverGetVersion", a.cuDriverGetVersion(&v)); err != nil {
		return nil, err
	}
	d.version = int(v)
	d.nvrtc, d.nvrtcErr = loadNVRTC(opt.NVRTC)
	return d, nil
}

// Version returns the driver's CUDA version as major*1000 + minor*10.
func (d *Driver) Version() int { return d.version }

// NVRTC returns the NVRTC library that was loaded, or the reason none was
// (wrapping ErrNoNVRTC).
func (d *Driver) NVRTC() (string, error) {
	if d.nvrtc == nil {
		return "", d.nvrtcErr
	}
	return d.nvrtc.lib.name, nil
}

// check turns a CUresult into an *Error naming call (nil for CUDA_SUCCESS).
func (d *Driver) check(call string, r cuResult) error {
	if r == 0 {
		return nil
	}
	e := &Error{Call: call, Code: int(r), Name: fmt.Sprintf("CUresult %d", int(r))}
	var s *byte
	if d.api.cuGetErrorName(r, &s) == 0 && s != nil {
		e.Name = goString(s, 256)
	}
	s = nil
	if d.api.cuGetErrorString(r, &s) == 0 && s != nil {
		e.Desc = goString(s, 1024)
	}
	return e
}

// DeviceInfo describes one CUDA device.
type DeviceInfo struct {
	Ordinal         int
	Name            string
	TotalMemory     int64 // bytes
	ComputeMajor    int
	ComputeMinor    int
	Multiprocessors int
	PCIBus          int
}

func (i DeviceInfo) String() string {
	return fmt.Sprintf("%d: %s (sm_%d%d, %d SMs, %.1f GiB)", i.Ordinal, i.Name, i.ComputeMajor, i.ComputeMinor,
		i.Multiprocessors, float64(i.TotalMemory)/(1<<30))
}

// Devices lists the CUDA devices (none is an empty list, not an error).
func (d *Driver) Devices() ([]DeviceInfo, error) {
	var n int32
	if err := d.check("cuDeviceGetCount", d.api.cuDeviceGetCount(&n)); err != nil {
		return nil, err
	}
	out := make([]DeviceInfo, 0, n)
	for i := range int(n) {
		info, _, err := d.deviceInfo(i)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// deviceInfo returns the description and CUdevice handle of ordinal.
func (d *Driver) deviceInfo(ordinal int) (DeviceInfo, int32, error) {
	var n int32
	if err := d.check("cuDeviceGetCount", d.api.cuDeviceGetCount(&n)); err != nil {
		return DeviceInfo{}, 0, err
	}
	if ordinal < 0 || ordinal >= int(n) {
		return DeviceInfo{}, 0, fmt.Errorf("%w: ordinal %d, the driver reports %d device(s)", ErrNoDevice, ordinal, n)
	}
	var dev int32
	if err := d.check("cuDeviceGet", d.api.cuDeviceGet(&dev, int32(ordinal))); err != nil {
		return DeviceInfo{}, 0, err
	}
	info := DeviceInfo{Ordinal: ordinal}
	name := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.api.cuDeviceGetName(&name[0], int32(len(name)), dev)); err != nil {
		return info, 0, err
	}
	info.Name = goString(&name[0], len(name))
	var total uint64
	if err := d.check("cuDeviceTotalMem_v2", d.api.cuDeviceTotalMem(&total, dev)); err != nil {
		return info, 0, err
	}
	info.TotalMemory = int64(total)
	for _, a := range []struct {
		attr int32
		dst  *int
	}{
		{attrComputeMajor, &info.ComputeMajor},
		{attrComputeMinor, &info.ComputeMinor},
		{attrMultiprocessorCount, &info.Multiprocessors},
		{attrPCIBusID, &info.PCIBus},
	} {
		var v int32
		if err := d.check("cuDeviceGetAttribute", d.api.cuDeviceGetAttribute(&v, a.attr, dev)); err != nil {
			return info, 0, err
		}
		*a.dst = int(v)
	}
	return info, dev, nil
}

// Available reports whether a CUDA device can be used for kernels (driver,
// NVRTC and at least one device present), and if not, why.
func Available() (bool, string) {
	d, err := Load()
	if err != nil {
		return false, err.Error()
	}
	if d.nvrtc == nil {
		return false, d.nvrtcErr.Error()
	}
	devs, err := d.Devices()
	if err != nil {
		return false, err.Error()
	}
	if len(devs) == 0 {
		return false, ErrNoDevice.Error() + ": the driver reports 0 devices"
	}
	return true, ""
}

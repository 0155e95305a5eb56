package cuda

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoDriver: libcuda.so.1 could not be opened (no NVIDIA driver).
	ErrNoDriver = errors.New("cuda: libcuda.so.1 not found: no NVIDIA driver on this machine")
	// ErrNoNVRTC: no NVRTC library could be opened, so kernels cannot be
	// compiled (the driver alone still lists devices).
	ErrNoNVRTC = errors.New("cuda: NVRTC library (libnvrtc.so) not found: kernels cannot be compiled")
	// ErrSymbol: a library lacks a function this package needs (too old).
	ErrSymbol = errors.New("cuda: missing symbol")
	// ErrNoDevice: the driver reports no CUDA device, or the ordinal is out of range.
	ErrNoDevice = errors.New("cuda: no such CUDA device")
	// ErrPoolLimit: an allocation does not fit the device pool's size limit.
	ErrPoolLimit = errors.New("cuda: device memory pool limit reached")
	// ErrShape: input or output slices have inconsistent lengths.
	ErrShape = errors.New("cuda: shape mismatch")
	// ErrForest: a FlatForest is malformed.
	ErrForest = errors.New("cuda: invalid forest")
	// ErrClosed: the Device or DeviceForest was closed.
	ErrClosed = errors.New("cuda: closed")
	// ErrCompile: NVRTC rejected the kernel source.
	ErrCompile = errors.New("cuda: kernel compilation failed")
)

// Error is a failed CUDA driver or NVRTC call.
type Error struct {
	Call string // API function, e.g. "cuMemAlloc_v2"
	Code int    // CUresult or nvrtcResult
	Name string // e.g. "CUDA_ERROR_OUT_OF_MEMORY"
	Desc string // e.g. "out of memory"
}

func (e *Error) Error() string {
	if e.Desc == "" {
		return fmt.Sprintf("cuda: %s: %s", e.Call, e.Name)
	}
	return fmt.Sprintf("cuda: %s: %s (%s)", e.Call, e.Name, e.Desc)
}

// CUresult codes this package looks at.
const (
	errOutOfMemory = 2
)

// IsOutOfMemory reports whether err is CUDA_ERROR_OUT_OF_MEMORY.
func IsOutOfMemory(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == errOutOfMemory && strings.HasPrefix(e.Call, "cu")
}

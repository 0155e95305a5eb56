package tiff

import "unsafe"

// The As* helpers reinterpret a little-endian pixel buffer as a typed slice
// without copying. They rely on a little-endian host (amd64, arm64) and on b
// being aligned to the element size, which holds for buffers returned by
// ReadWindow and for any slice from make. A trailing partial element is
// dropped.

func AsInt8(b []byte) []int8       { return asSlice[int8](b) }
func AsUint16(b []byte) []uint16   { return asSlice[uint16](b) }
func AsInt16(b []byte) []int16     { return asSlice[int16](b) }
func AsUint32(b []byte) []uint32   { return asSlice[uint32](b) }
func AsInt32(b []byte) []int32     { return asSlice[int32](b) }
func AsFloat32(b []byte) []float32 { return asSlice[float32](b) }
func AsFloat64(b []byte) []float64 { return asSlice[float64](b) }

func asSlice[T any](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// aligned reports whether b can be viewed as elements of the given size.
func aligned(b []byte, size int) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%uintptr(size) == 0
}

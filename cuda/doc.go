// Package cuda runs the engine's two heavy per-pixel steps - spectral
// indices and random-forest inference - on NVIDIA GPUs through the CUDA
// driver API, loaded at run time: the binary builds with CGO_ENABLED=0 and
// runs (falling back to the pure-Go references here) where there is no GPU.
//
// # Loading
//
// Load opens libcuda.so.1 and NVRTC (libnvrtc.so.13, .12, libnvrtc.so) with
// purego and returns a Driver, a table of function pointers (no package
// state). Without a driver the error wraps ErrNoDriver ("cuda: libcuda.so.1
// not found: no NVIDIA driver on this machine"); without NVRTC the Driver
// still lists devices but kernels fail with ErrNoNVRTC. Available says in
// one call whether kernels can run, and why not. Every failed CUDA call is
// an *Error naming the call, the CUresult name and its description, e.g.
// "cuda: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
//
// # Devices
//
// Driver.Open retains the device's primary context (no cuCtxCreate, whose
// signature changed in CUDA 13), creates DeviceOptions.Streams streams (2)
// and one memory pool. Every method makes the context current on a locked
// OS thread for its duration, so a Device may be used from any goroutine.
// Chunked calls on one Device run one at a time (they share the streams and
// staging buffers); open one Device per GPU and feed them in parallel.
//
// The pool is a caching allocator over cuMemAlloc: requests are rounded up
// to size classes (four per power of two) and freed blocks are kept on
// per-class free lists, so a steady stream of equal chunks allocates from
// the driver only once (PoolStats.Grows). It never holds more than
// DeviceOptions.PoolLimit bytes (default 3/4 of the free memory at Open):
// cached blocks are given back first, then ErrPoolLimit. Blocks go back to
// the pool only after their stream is synchronised.
//
// # Streaming
//
// Indices and DeviceForest.Predict stream pixels through in chunks sized so
// that every stream's input and output buffers fit the pool, so scenes
// larger than GPU memory go through. Chunk k runs on stream k mod S: while
// the GPU copies and computes chunk k, the CPU stages chunk k+1 into the
// next stream's pinned (cuMemHostAlloc) buffer and collects chunk k-1's
// results; the copies of one stream overlap the kernel of another. Pinned
// buffers are kept and reused (PinnedBytes). Cancelling the context stops
// between chunks.
//
// # Kernels
//
// The CUDA C++ source (kernels.go) is compiled by NVRTC at the first kernel
// use on each Device, for compute_XY of the device (or the highest NVRTC
// supports below it; the driver JIT-compiles the PTX), and optionally kept
// in DeviceOptions.CacheDir keyed by a hash of source, options, architecture
// and NVRTC version. The kernels use explicitly rounded intrinsics and
// --fmad=false, evaluated in the order of the Go references, so that
// results are meant to be bit-identical to them:
//
//   - Indices / IndicesCPU: reflectance (DN + offset) × scale in float32,
//     then (a-b)/(a+b), SAVI 1.5(a-b)/(a+b+0.5) or EVI
//     2.5(a-b)/(a+6b-7.5c+1); a pixel where any band used equals nodata, and
//     any non-finite result, is NaN - as the CPU indices operator computes.
//   - DeviceForest.Predict / FlatForest.Predict: a random forest in the
//     flat layout of FlatForest (go right when x > threshold, NaN left),
//     class = argmax of the probabilities summed in tree order (ties to the
//     lowest index), confidence = that sum × 1/trees - the forest package's
//     rules. The device kernel handles up to 64 classes.
//
// # Verification
//
// Tests without a GPU run everything but the GPU: testdata/fakecuda.cpp is
// a CPU stand-in for libcuda and NVRTC, built by the tests with g++, which
// executes the very kernel source NVRTC would receive (compiled as host C++
// with testdata/emul.h) behind the real driver API. The emulated kernels
// are bit-identical to the references; the references are checked against
// the formulas in float64 and against scikit-learn. The tests named GPU, and
// the GPU benchmarks, need real hardware: bench/gpu.sh (or
// testdata/gpu-check.sh) runs them from a prebuilt test binary. They passed
// on an NVIDIA H200 (driver 580, NVRTC 13; bench/results/), with indices
// bit-identical and forest classes and confidences identical to the
// references; several GPUs in one process have not been tried.
package cuda

// emul.h: just enough of CUDA's device built-ins for kernelSource to compile
// as host C++ with g++ (one thread at a time; see fakecuda.cpp). Float
// intrinsics are plain IEEE single operations: build with -ffp-contract=off.
#include <stdint.h>
#include <stddef.h>
#include <string.h>

struct emul_dim3 { unsigned x, y, z; };
static thread_local emul_dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict

static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __int_as_float(int x) { float f; memcpy(&f, &x, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }

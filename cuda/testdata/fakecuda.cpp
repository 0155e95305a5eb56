// fakecuda.cpp: a CPU stand-in for libcuda.so.1 and libnvrtc.so, built by
// the tests (emul_test.go) so that the package's host code - library
// binding, error reporting, pool, pinned staging, chunked double-buffered
// streaming, kernel parameter marshalling - and the kernel source itself
// run on machines without a GPU. Device pointers are host pointers; copies
// are memcpy; streams are synchronous; cuLaunchKernel runs the kernels of
// kernels.cu (the exact source the package sends to NVRTC, compiled with
// emul.h) one thread at a time. It checks what a real driver would reject
// and that NVRTC is given exactly the source it was built from.
#include "emul.h"
#include <stdlib.h>
#include <stdio.h>
#include "kernels.cu"
#include "kernels_src.inc" // static const char fake_kernel_source[]

typedef int CUresult;
enum {
	OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_CONTEXT = 201,
	INVALID_PTX = 218, INVALID_HANDLE = 400, NOT_FOUND = 500
};

static uint64_t mem_total = 1ull << 30, mem_used = 0;
static long live_allocs = 0, launches = 0;
static uintptr_t current_ctx = 0;

extern "C" {

void fakecuda_set_memory(uint64_t n) { mem_total = n; }
long fakecuda_live_allocs(void) { return live_allocs; }
long fakecuda_launches(void) { return launches; }

CUresult cuInit(unsigned flags) { return flags == 0 ? OK : INVALID_VALUE; }
CUresult cuDriverGetVersion(int* v) { *v = 12040; return OK; }

CUresult cuGetErrorName(CUresult r, const char** s) {
	switch (r) {
	case OK: *s = "CUDA_SUCCESS"; return OK;
	case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return OK;
	case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
	case INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; return OK;
	case INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; return OK;
	case INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; return OK;
	case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; return OK;
	}
	*s = 0;
	return INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult r, const char** s) {
	switch (r) {
	case OK: *s = "no error"; return OK;
	case INVALID_VALUE: *s = "invalid argument"; return OK;
	case OUT_OF_MEMORY: *s = "out of memory"; return OK;
	case INVALID_CONTEXT: *s = "invalid device context"; return OK;
	case INVALID_PTX: *s = "a PTX JIT compilation failed"; return OK;
	case INVALID_HANDLE: *s = "invalid resource handle"; return OK;
	case NOT_FOUND: *s = "named symbol not found"; return OK;
	}
	*s = 0;
	return INVALID_VALUE;
}

CUresult cuDeviceGetCount(int* n) { *n = 1; return OK; }
CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_VALUE; *d = 0; return OK; }
CUresult cuDeviceGetName(char* name, int len, int dev) {
	if (dev != 0 || len < 1) return INVALID_VALUE;
	snprintf(name, len, "Fake CUDA device (CPU emulation)");
	return OK;
}
CUresult cuDeviceTotalMem_v2(size_t* b, int dev) { if (dev != 0) return INVALID_VALUE; *b = mem_total; return OK; }
CUresult cuDeviceGetAttribute(int* v, int attr, int dev) {
	if (dev != 0) return INVALID_VALUE;
	switch (attr) {
	case 16: *v = 4; return OK;  // multiprocessors
	case 33: *v = 0; return OK;  // PCI bus
	case 75: *v = 8; return OK;  // compute capability 8.6
	case 76: *v = 6; return OK;
	}
	return INVALID_VALUE;
}
CUresult cuDevicePrimaryCtxRetain(uintptr_t* ctx, int dev) { if (dev != 0) return INVALID_VALUE; *ctx = 0xc0; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { return dev == 0 ? OK : INVALID_VALUE; }
CUresult cuCtxSetCurrent(uintptr_t ctx) { if (ctx != 0xc0) return INVALID_CONTEXT; current_ctx = ctx; return OK; }

#define NEED_CTX if (current_ctx != 0xc0) return INVALID_CONTEXT

CUresult cuMemGetInfo_v2(size_t* free_, size_t* total) { NEED_CTX; *free_ = mem_total - mem_used; *total = mem_total; return OK; }

static uintptr_t next_stream = 0x100;
CUresult cuStreamCreate(uintptr_t* s, unsigned flags) { NEED_CTX; if (flags > 1) return INVALID_VALUE; *s = next_stream++; return OK; }
CUresult cuStreamDestroy_v2(uintptr_t s) { NEED_CTX; return s >= 0x100 && s < next_stream ? OK : INVALID_HANDLE; }
CUresult cuStreamSynchronize(uintptr_t s) { NEED_CTX; return s >= 0x100 && s < next_stream ? OK : INVALID_HANDLE; }

// Device blocks carry their size in a 16-byte header.
CUresult cuMemAlloc_v2(uint64_t* p, size_t n) {
	NEED_CTX;
	if (n == 0) return INVALID_VALUE;
	if (mem_used + n > mem_total) return OUT_OF_MEMORY;
	char* b = (char*)malloc(n + 16);
	if (!b) return OUT_OF_MEMORY;
	memcpy(b, &n, sizeof n);
	mem_used += n;
	live_allocs++;
	*p = (uint64_t)(uintptr_t)(b + 16);
	return OK;
}
CUresult cuMemFree_v2(uint64_t p) {
	NEED_CTX;
	if (!p) return INVALID_VALUE;
	char* b = (char*)(uintptr_t)p - 16;
	size_t n;
	memcpy(&n, b, sizeof n);
	mem_used -= n;
	live_allocs--;
	free(b);
	return OK;
}
CUresult cuMemHostAlloc(void** p, size_t n, unsigned flags) { NEED_CTX; *p = malloc(n); return *p ? OK : OUT_OF_MEMORY; }
CUresult cuMemFreeHost(void* p) { NEED_CTX; free(p); return OK; }
CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void* src, size_t n, uintptr_t s) {
	NEED_CTX; if (!dst || !src) return INVALID_VALUE; memcpy((void*)(uintptr_t)dst, src, n); return OK;
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, uint64_t src, size_t n, uintptr_t s) {
	NEED_CTX; if (!dst || !src) return INVALID_VALUE; memcpy(dst, (void*)(uintptr_t)src, n); return OK;
}
CUresult cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, uintptr_t s) {
	NEED_CTX; if (!dst || !src) return INVALID_VALUE; memcpy((void*)(uintptr_t)dst, (void*)(uintptr_t)src, n); return OK;
}

static const char fake_ptx_prefix[] = "// fake PTX ";
CUresult cuModuleLoadData(uintptr_t* m, const void* image) {
	NEED_CTX;
	if (strncmp((const char*)image, fake_ptx_prefix, sizeof fake_ptx_prefix - 1) != 0) return INVALID_PTX;
	*m = 0x300;
	return OK;
}
CUresult cuModuleUnload(uintptr_t m) { NEED_CTX; return m == 0x300 ? OK : INVALID_HANDLE; }
CUresult cuModuleGetFunction(uintptr_t* f, uintptr_t m, const char* name) {
	NEED_CTX;
	if (m != 0x300) return INVALID_HANDLE;
	if (!strcmp(name, "rf_indices")) { *f = 1; return OK; }
	if (!strcmp(name, "rf_forest")) { *f = 2; return OK; }
	return NOT_FOUND;
}

#define ARG(T, i) (*(T*)p[i])
CUresult cuLaunchKernel(uintptr_t f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
		unsigned shmem, uintptr_t s, void** p, void** extra) {
	NEED_CTX;
	if (f != 1 && f != 2) return INVALID_HANDLE;
	if (gx == 0 || gy != 1 || gz != 1 || bx == 0 || bx > 1024 || by != 1 || bz != 1 || shmem != 0 || extra) return INVALID_VALUE;
	if (s < 0x100 || s >= next_stream) return INVALID_HANDLE;
	launches++;
	gridDim = {gx, gy, gz};
	blockDim = {bx, by, bz};
	for (unsigned b = 0; b < gx; b++) {
		for (unsigned t = 0; t < bx; t++) {
			blockIdx = {b, 0, 0};
			threadIdx = {t, 0, 0};
			if (f == 1) {
				rf_indices(ARG(const unsigned short*, 0), ARG(int, 1), ARG(int, 2), ARG(float, 3), ARG(float, 4),
					ARG(int, 5), ARG(unsigned, 6), ARG(rf_index_specs, 7), ARG(float*, 8));
			} else {
				rf_forest(ARG(const rf_node*, 0), ARG(const float*, 1), ARG(const int*, 2), ARG(int, 3), ARG(int, 4),
					ARG(int, 5), ARG(float, 6), ARG(const unsigned char*, 7), ARG(const float*, 8), ARG(int, 9),
					ARG(unsigned char*, 10), ARG(float*, 11));
			}
		}
	}
	return OK;
}

// NVRTC.
struct program { char* src; int arch; char log[256]; };

const char* nvrtcGetErrorString(int r) {
	switch (r) {
	case 0: return "NVRTC_SUCCESS";
	case 3: return "NVRTC_ERROR_INVALID_INPUT";
	case 5: return "NVRTC_ERROR_INVALID_OPTION";
	case 6: return "NVRTC_ERROR_COMPILATION";
	}
	return "NVRTC_ERROR_INTERNAL_ERROR";
}
int nvrtcVersion(int* ma, int* mi) { *ma = 12; *mi = 4; return 0; }
static const int archs[] = {52, 75, 80};
int nvrtcGetNumSupportedArchs(int* n) { *n = 3; return 0; }
int nvrtcGetSupportedArchs(int* a) { memcpy(a, archs, sizeof archs); return 0; }
int nvrtcCreateProgram(program** p, const char* src, const char* name, int nh, const char** h, const char** inc) {
	if (!src || nh != 0) return 3;
	program* q = (program*)calloc(1, sizeof *q);
	q->src = strdup(src);
	*p = q;
	return 0;
}
int nvrtcCompileProgram(program* p, int nopt, const char** opts) {
	int fmad = 0, arch = 0;
	for (int i = 0; i < nopt; i++) {
		if (!strcmp(opts[i], "--fmad=false")) fmad = 1;
		else if (!strncmp(opts[i], "--gpu-architecture=compute_", 27)) arch = atoi(opts[i] + 27);
		else if (strcmp(opts[i], "--prec-div=true") && strcmp(opts[i], "--std=c++17")) return 5;
	}
	if (!fmad || !arch) { snprintf(p->log, sizeof p->log, "fake nvrtc: want --fmad=false and an architecture"); return 6; }
	if (strcmp(p->src, fake_kernel_source)) { snprintf(p->log, sizeof p->log, "fake nvrtc: source differs from the emulated kernels"); return 6; }
	p->arch = arch;
	return 0;
}
static int ptx(program* p, char* out) { return snprintf(out, out ? 64 : 0, "%scompute_%d\n", fake_ptx_prefix, p->arch) + 1; }
int nvrtcGetPTXSize(program* p, size_t* n) { if (!p->arch) return 3; *n = ptx(p, 0); return 0; }
int nvrtcGetPTX(program* p, char* out) { if (!p->arch) return 3; ptx(p, out); return 0; }
int nvrtcGetProgramLogSize(program* p, size_t* n) { *n = strlen(p->log) + 1; return 0; }
int nvrtcGetProgramLog(program* p, char* out) { memcpy(out, p->log, strlen(p->log) + 1); return 0; }
int nvrtcDestroyProgram(program** p) { free((*p)->src); free(*p); *p = 0; return 0; }

} // extern "C"

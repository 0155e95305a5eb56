package cuda

// kernelSource is the CUDA C++ compiled by NVRTC at first use per device.
// It uses only built-ins (no #include), so it also compiles as host C++
// against the small emulation header in testdata, which is how the tests
// check it on machines without a GPU.
//
// Exactness: every float operation is an explicitly rounded intrinsic
// (__fadd_rn, __fmul_rn, __fdiv_rn...), which NVRTC never fuses into FMA, and
// the operations are in the order the Go reference evaluates them, so the
// results equal Go's float32 results bit for bit (NaN payloads aside).
const kernelSource = `
#define RF_MAX_SPECS 16
#define RF_MAX_CLASSES 64

// Index kinds, as IndexKind in Go.
#define RF_ND   0
#define RF_SAVI 1
#define RF_EVI  2

// Up to RF_MAX_SPECS indices per launch, passed by value. a, b, c are band
// planes of the input, dst the output plane.
struct rf_index_specs {
	int n;
	int kind[RF_MAX_SPECS];
	int a[RF_MAX_SPECS];
	int b[RF_MAX_SPECS];
	int c[RF_MAX_SPECS];
	int dst[RF_MAX_SPECS];
};

__device__ __forceinline__ float rf_refl(unsigned short v, float offset, float scale) {
	return __fmul_rn(__fadd_rn((float)v, offset), scale);
}

// rf_indices: in holds nbands planes of m uint16 DNs, out the spec planes of
// m float32. A pixel where any band equals nodata is NaN in every output;
// so is any non-finite result.
extern "C" __global__ void rf_indices(const unsigned short* __restrict__ in, int nbands, int m,
		float scale, float offset, int has_nodata, unsigned int nodata,
		rf_index_specs specs, float* __restrict__ out) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= m) return;
	const float nan = __int_as_float(0x7fc00000);
	bool valid = true;
	if (has_nodata) {
		for (int j = 0; j < nbands; j++) {
			if (in[(size_t)j * m + i] == nodata) valid = false;
		}
	}
	for (int s = 0; s < specs.n; s++) {
		float r = nan;
		if (valid) {
			float a = rf_refl(in[(size_t)specs.a[s] * m + i], offset, scale);
			float b = rf_refl(in[(size_t)specs.b[s] * m + i], offset, scale);
			switch (specs.kind[s]) {
			case RF_ND: // (a-b)/(a+b)
				r = __fdiv_rn(__fsub_rn(a, b), __fadd_rn(a, b));
				break;
			case RF_SAVI: // 1.5*(a-b)/(a+b+0.5)
				r = __fdiv_rn(__fmul_rn(1.5f, __fsub_rn(a, b)), __fadd_rn(__fadd_rn(a, b), 0.5f));
				break;
			case RF_EVI: { // 2.5*(a-b)/(a + 6b - 7.5c + 1)
				float c = rf_refl(in[(size_t)specs.c[s] * m + i], offset, scale);
				float den = __fadd_rn(__fsub_rn(__fadd_rn(a, __fmul_rn(6.0f, b)), __fmul_rn(7.5f, c)), 1.0f);
				r = __fdiv_rn(__fmul_rn(2.5f, __fsub_rn(a, b)), den);
				break;
			}
			}
			if ((__float_as_uint(r) & 0x7f800000u) == 0x7f800000u) r = nan; // Inf or NaN
		}
		out[(size_t)specs.dst[s] * m + i] = r;
	}
}

// One tree node. Internal: go to right when x[feature] > threshold (NaN goes
// left). Leaf: feature < 0 and left is the offset of its class
// probabilities in proba.
struct alignas(16) rf_node {
	int feature;
	float threshold;
	int left;
	int right;
};

// rf_forest: X holds nfeatures planes of m float32. Every tree is walked at
// most max_depth steps (the Go side checks that this reaches a leaf); the
// class probabilities are summed in tree order and the first largest wins.
// cls (class_map[best], or best without a map) and conf (best sum times
// inv_trees) are optional (0).
extern "C" __global__ void rf_forest(const rf_node* __restrict__ nodes, const float* __restrict__ proba,
		const int* __restrict__ roots, int ntrees, int nclasses, int max_depth, float inv_trees,
		const unsigned char* __restrict__ class_map,
		const float* __restrict__ X, int m, unsigned char* __restrict__ cls, float* __restrict__ conf) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= m) return;
	float acc[RF_MAX_CLASSES];
	for (int k = 0; k < nclasses; k++) acc[k] = 0.0f;
	for (int t = 0; t < ntrees; t++) {
		int n = roots[t];
		for (int d = 0; d < max_depth; d++) {
			rf_node nd = nodes[n];
			if (nd.feature < 0) break;
			float x = X[(size_t)nd.feature * m + i];
			n = x > nd.threshold ? nd.right : nd.left;
		}
		const float* p = proba + nodes[n].left;
		for (int k = 0; k < nclasses; k++) acc[k] = __fadd_rn(acc[k], p[k]);
	}
	int best = 0;
	for (int k = 1; k < nclasses; k++) {
		if (acc[k] > acc[best]) best = k;
	}
	if (cls) cls[i] = class_map ? class_map[best] : (unsigned char)best;
	if (conf) conf[i] = __fmul_rn(acc[best], inv_trees);
}
`

// Limits of the kernels, mirrored from kernelSource.
const (
	maxSpecsPerLaunch = 16
	maxGPUClasses     = 64
)

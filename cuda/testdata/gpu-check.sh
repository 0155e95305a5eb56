#!/bin/sh
# gpu-check.sh: verify the cuda package on a machine with an NVIDIA GPU and
# driver (Go not needed there). Build the test binary elsewhere, from the
# module root:
#
#   GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go test -c -o cuda.test ./cuda
#
# then copy cuda.test and this script to the GPU machine and run
#
#   sh gpu-check.sh [path/to/cuda.test]
#
# NVRTC must be installed (libnvrtc.so.13, .12 or libnvrtc.so on the loader
# path, e.g. from the cuda-nvrtc package or pip's nvidia-cuda-nvrtc-cu12 with
# LD_LIBRARY_PATH set). The GPU tests compare every pixel with the Go
# reference; the benchmarks report Mpixel/s and bytes/s next to the
# device-to-device copy bandwidth.
set -u
bin=${1:-./cuda.test}
if [ ! -x "$bin" ]; then
	echo "gpu-check: $bin not found or not executable" >&2
	exit 2
fi
dir=$(dirname "$bin")
echo "== nvidia-smi"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "(nvidia-smi unavailable)"
echo "== libraries"
for l in libcuda.so.1 libnvrtc.so.13 libnvrtc.so.12 libnvrtc.so; do
	if ldconfig -p 2>/dev/null | grep -q "$l"; then echo "found $l"; fi
done
echo "== GPU tests and benchmarks"
cd "$dir" || exit 2
./"$(basename "$bin")" -test.v -test.run GPU -test.bench GPU -test.benchtime 5x -test.timeout 20m >gpu-check.log 2>&1
rc=$?
cat gpu-check.log
echo "== summary"
grep -E '^(--- |ok|FAIL|PASS|Benchmark)|Mpixel|SKIP' gpu-check.log
if grep -q -- '--- SKIP: TestGPU' gpu-check.log; then
	echo "gpu-check: GPU tests were SKIPPED (see the reasons above): nothing was verified" >&2
	exit 3
fi
exit $rc

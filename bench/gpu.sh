#!/usr/bin/env bash
# Every GPU check and benchmark in one run, for a machine with an NVIDIA GPU
# and no Go (the device machine). Build here, from the module root:
#
#   bench/gpu.sh build          # writes bin/rasterflow and bin/cuda.test (CGO_ENABLED=0)
#
# then on the GPU machine, from the module root:
#
#   bench/gpu.sh run OUTDIR     # logs and a summary in OUTDIR
#
# Steps (each under its own time limit, so one hang does not eat the rest):
# the cuda package's GPU tests (every pixel against the CPU reference, pool
# steady over 1,000 chunks, a scene larger than the pool), its benchmarks
# (device-to-device copy, indices end to end and kernel, forest), the forest
# on a 4096² synthetic scene on GPU vs rasterflow's CPU forest vs
# scikit-learn on the same features (bench/sklearn-raw.py, all cores), and
# lulc-predict on a 10980² synthetic scene (written as COGs first) with the
# GPU and with the CPU
# (the two class COGs must be byte-identical; CPU profiles of both runs are
# packed with the logs in OUTDIR/logs.tgz, for `go tool pprof bin/rasterflow
# logs/lulc-predict-gpu.prof`).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case ${1:-} in
build)
	mkdir -p bin
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -o bin/rasterflow ./cmd/rasterflow
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go test -c -o bin/cuda.test ./cuda
	exit
	;;
run) out=${2:?usage: bench/gpu.sh run OUTDIR} ;;
*)
	echo "usage: bench/gpu.sh build | run OUTDIR" >&2
	exit 2
	;;
esac
mkdir -p "$out"
work=$(mktemp -d)
logs=$work/logs # packed into OUTDIR/logs.tgz at the end
mkdir -p "$logs"
sum=$out/summary.txt
say() { echo "$*" | tee -a "$sum"; }
step() { # step NAME SECONDS CMD...: run with a limit, log to OUT/NAME.log
	local name=$1 limit=$2
	shift 2
	local t0=$(date +%s%N)
	timeout -k 5 "$limit" "$@" >"$logs/$name.log" 2>&1
	local rc=$?
	say "== $name: rc=$rc, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	return $rc
}
# NVRTC: the toolkit's or the pip wheel's, when not on the loader's path.
if ! ldconfig -p | grep -q 'libnvrtc.so'; then
	for f in /usr/local/cuda/lib64/libnvrtc.so.13 /usr/local/cuda/lib64/libnvrtc.so.12 $(find / -xdev -name 'libnvrtc.so.1[23]' 2>/dev/null | head -3); do
		if [ -e "$f" ]; then
			export RASTERFLOW_NVRTC=$f LD_LIBRARY_PATH=$(dirname "$f")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
			break
		fi
	done
fi
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.sm,clocks.mem --format=csv,noheader 2>&1)"
say "nvrtc: ${RASTERFLOW_NVRTC:-on the loader path}"
bin/rasterflow devices 2>&1 | tee -a "$sum"

step cuda-tests 150 bin/cuda.test -test.v -test.run 'GPU' -test.timeout 140s
grep -E '^(--- |ok|FAIL|PASS)|pool after' "$logs/cuda-tests.log" | tee -a "$sum"
step cuda-bench 150 bin/cuda.test -test.run '^$' -test.bench 'GPU|IndicesCPU' -test.benchtime 20x -test.count 2 -test.timeout 140s
grep -E '^Benchmark' "$logs/cuda-bench.log" | tee -a "$sum"

step forest-rasterflow 120 bin/rasterflow bench forest --size "${FOREST_SIZE:-4096}" --samples 200000 --trees 50 --depth 16 --device gpu --features-out "$work/feat.bin"
tail -1 "$logs/forest-rasterflow.log" | tee -a "$sum"
step forest-sklearn 150 python3 bench/sklearn-raw.py "$work/feat.bin" --samples 200000 --trees 50 --depth 16
tail -1 "$logs/forest-sklearn.log" | tee -a "$sum"

# The 10980² scene as COG files, as users' scenes come (generating it on
# the fly with synth:// would make the run measure the generator).
step synth-scene 150 bin/rasterflow synth --size "${LULC_SIZE:-10980}" "$work/scene"
step lulc-train 60 bin/rasterflow run --quiet pipelines/lulc-train.yaml --set model="$work/m.rf" --set report="$work/report.json"
for dev in gpu cpu; do
	step "lulc-predict-$dev" 170 bin/rasterflow run --quiet pipelines/lulc-predict.yaml --set scene="$work/scene" --set model="$work/m.rf" \
		--set out="$work/$dev.tif" --set preview="$work/$dev.png" --set indices.device=$dev --set predict.device=$dev \
		--cpuprofile "$logs/lulc-predict-$dev.prof"
	tail -25 "$logs/lulc-predict-$dev.log" | grep -E 'stage|read|mask|indices|predict|write|preview|Mpixel|scene' | tail -12 | tee -a "$sum"
done
if cmp "$work/gpu.tif" "$work/cpu.tif"; then say "lulc-predict: GPU and CPU class COGs are byte-identical ($(stat -c %s "$work/gpu.tif") bytes)"; else say "lulc-predict: GPU and CPU class COGs DIFFER"; fi
tar czf "$out/logs.tgz" -C "$work" logs
rm -rf "$work"

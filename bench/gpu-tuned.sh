#!/usr/bin/env bash
# lulc-predict on a 10980² synthetic COG scene, GPU vs CPU, with the shipped
# replicas and with more replicas for the CPU stages (a 16-core machine).
# Run from the module root after `bench/gpu.sh build`: bench/gpu-tuned.sh OUTDIR
set -uo pipefail
out=${1:?usage: bench/gpu-tuned.sh OUTDIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin/rasterflow synth --size "${LULC_SIZE:-10980}" "$work/scene" >/dev/null
bin/rasterflow run --quiet pipelines/lulc-train.yaml --set model="$work/m.rf" --set report="$work/r.json" >/dev/null 2>&1
more=(--set mask.replicas=4 --set indices.replicas=4 --set predict.replicas=4)
for tune in shipped more; do
	for dev in gpu cpu; do
		extra=()
		[ "$tune" = more ] && extra=("${more[@]}")
		t0=$(date +%s%N)
		bin/rasterflow run --quiet pipelines/lulc-predict.yaml --set scene="$work/scene" --set model="$work/m.rf" \
			--set out="$work/$dev-$tune.tif" --set preview="$work/$dev-$tune.png" --set indices.device=$dev --set predict.device=$dev \
			"${extra[@]}" >"$out/$dev-$tune.log" 2>&1
		echo "lulc-predict $dev, $tune replicas: rc=$?, $(( ($(date +%s%N) - t0) / 1000000 )) ms wall, $(grep -o 'done in [0-9.a-z]*' "$out/$dev-$tune.log")"
	done
done | tee "$out/summary.txt"
for t in shipped more; do cmp -s "$work/gpu-$t.tif" "$work/cpu-$t.tif" && echo "$t: GPU and CPU class COGs byte-identical" || echo "$t: class COGs DIFFER"; done | tee -a "$out/summary.txt"

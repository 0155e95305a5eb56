#!/usr/bin/env bash
# The forest alone, in one run on one machine: `rasterflow bench forest`
# beside ../shared/bench/baseline_sklearn.py on the same scene.
#
#   bench/forest-vs-sklearn.sh [SIZE] [SAMPLES] [TREES] [DEPTH]
set -euo pipefail
size=${1:-2048} samples=${2:-200000} trees=${3:-50} depth=${4:-16}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/rasterflow" ./cmd/rasterflow
/usr/bin/python3 "$shared/make_scene.py" "$work/scene" "$size" 1 >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1 /proc/loadavg)"
echo "scikit-learn: $(/usr/bin/python3 "$shared/baseline_sklearn.py" "$work/scene" "$work/sk.tif" --samples "$samples" --trees "$trees" --depth "$depth")"
echo "rasterflow:   $("$work/rasterflow" bench forest --scene "$work/scene" --samples "$samples" --trees "$trees" --depth "$depth")"

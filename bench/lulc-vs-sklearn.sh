#!/usr/bin/env bash
# End to end, in one run on one machine: the scikit-learn baseline
# (../shared/bench/baseline_sklearn.py: rasterio + numpy + scikit-learn)
# against rasterflow's lulc-train.yaml + lulc-predict.yaml on the same
# scene, with the same samples, trees and depth.
#
#   bench/lulc-vs-sklearn.sh [SIZE] [SAMPLES] [TREES] [DEPTH]
#
# Needs /usr/bin/python3 with python3-rasterio python3-sklearn (Debian).
set -euo pipefail
size=${1:-4096} samples=${2:-200000} trees=${3:-50} depth=${4:-16}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/rasterflow" ./cmd/rasterflow
/usr/bin/python3 "$shared/make_scene.py" "$work/scene" "$size" 1 >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1 /proc/loadavg)"

t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/sk.rss" /usr/bin/python3 "$shared/baseline_sklearn.py" "$work/scene" "$work/sk.tif" \
  --samples "$samples" --trees "$trees" --depth "$depth" > "$work/sk.json"
t1=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/train.rss" "$work/rasterflow" run pipelines/lulc-train.yaml --quiet --set scene="$work/scene" \
  --set model="$work/m.rf" --set report="$work/report.json" --set samples="$samples" --set trees="$trees" --set depth="$depth" > /dev/null
t2=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/predict.rss" "$work/rasterflow" run pipelines/lulc-predict.yaml --quiet --set scene="$work/scene" \
  --set model="$work/m.rf" --set out="$work/rf.tif" --set preview="$work/preview.png" > /dev/null
t3=$(date +%s.%N)

python3 - "$work" "$t0" "$t1" "$t2" "$t3" <<'PY'
import json, sys
w, t0, t1, t2, t3 = sys.argv[1], *map(float, sys.argv[2:])
sk = json.load(open(f"{w}/sk.json"))
rep = json.load(open(f"{w}/report.json"))
rss = lambda n: int(open(f"{w}/{n}.rss").read().split()[-1]) / 1024
skw, rfw = t1 - t0, t3 - t1
print(f"scikit-learn: {skw:.1f} s wall (train {sk['seconds']['train']:.1f} s, predict {sk['seconds']['predict']:.1f} s), "
      f"accuracy {sk['accuracy_holdout']:.4f}, peak RSS {rss('sk'):.0f} MB")
print(f"rasterflow:   {rfw:.1f} s wall (lulc-train {t2 - t1:.1f} s, lulc-predict {t3 - t2:.1f} s), "
      f"accuracy {rep['validation']['accuracy']:.4f}, peak RSS {rss('train'):.0f} / {rss('predict'):.0f} MB")
print(f"speed-up {skw / rfw:.1f}x, accuracy difference {100 * (rep['validation']['accuracy'] - sk['accuracy_holdout']):+.2f} points")
PY

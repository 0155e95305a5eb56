#!/usr/bin/python3
"""scikit-learn side of the forest benchmarks, on exactly the data the Go benchmarks use.

usage: sklearn_bench.py SCENE_DIR OUT_DIR [--big]
  SCENE_DIR from shared/bench/make_scene.py (e.g. 2048 px). Features and sampling as
  shared/bench/baseline_sklearn.py (B02 B03 B04 B08 NDVI NDWI; valid = all bands > 0 and label > 0).
Writes OUT_DIR/features.f32 (6 × H × W float32, band after band), OUT_DIR/label.u8 (H × W),
OUT_DIR/pick.u32 (random valid pixel indices; the first 200,000 / 1,000,000 are the training samples)
and OUT_DIR/meta.json, then times scikit-learn (n_jobs=-1):
  train 200,000 × 6, 50 trees, depth 16; predict all H × W pixels with that model (in memory, no I/O);
  with --big also train 1,000,000 × 6, 100 trees, depth 16.
Then run the Go side:  RF_BENCH_DIR=OUT_DIR go test ./forest/ -run '^$' -bench . -benchtime 1x"""
import json, os, sys, time
import numpy as np
import rasterio
from sklearn.ensemble import RandomForestClassifier

scene, out = sys.argv[1], sys.argv[2]
big = "--big" in sys.argv
os.makedirs(out, exist_ok=True)
arr = []
for b in ["B02", "B03", "B04", "B08"]:
    with rasterio.open(os.path.join(scene, f"{b}.tif")) as src:
        arr.append(src.read(1))
with rasterio.open(os.path.join(scene, "label.tif")) as src:
    label = src.read(1)
X = np.stack(arr).astype(np.float32)
valid = (X > 0).all(axis=0) & (label > 0)
b02, b03, b04, b08 = X
with np.errstate(divide="ignore", invalid="ignore"):
    ndvi = np.nan_to_num((b08 - b04) / (b08 + b04))
    ndwi = np.nan_to_num((b03 - b08) / (b03 + b08))
F = np.concatenate([X, ndvi[None], ndwi[None]]).astype(np.float32).reshape(6, -1)
H, W = label.shape
rng = np.random.default_rng(42)
idx = np.flatnonzero(valid.ravel())
pick = rng.choice(idx, size=min(1_000_000, idx.size), replace=False).astype(np.uint32)
F.tofile(os.path.join(out, "features.f32"))
label.astype(np.uint8).tofile(os.path.join(out, "label.u8"))
pick.tofile(os.path.join(out, "pick.u32"))
json.dump({"height": H, "width": W, "features": ["B02", "B03", "B04", "B08", "NDVI", "NDWI"]},
          open(os.path.join(out, "meta.json"), "w"))
y = label.ravel()
res = {"cpus": os.cpu_count()}


def fit(n, trees):
    p = pick[:n]
    clf = RandomForestClassifier(n_estimators=trees, max_depth=16, n_jobs=-1, random_state=42, max_features="sqrt")
    t = time.perf_counter()
    clf.fit(F[:, p].T, y[p])
    return clf, time.perf_counter() - t


clf, s = fit(200_000, 50)
res["train_200k_50t_s"] = round(s, 3)
res["train_200k_samples_per_s"] = round(200_000 / s)
t = time.perf_counter()
pred = np.empty(H * W, np.uint8)
FT = F.T
for i in range(0, H * W, 1 << 20):  # 1 Mpixel slices, like the baseline's 1024² tiles
    pred[i:i + (1 << 20)] = clf.predict(FT[i:i + (1 << 20)])
s = time.perf_counter() - t
res["predict_s"] = round(s, 3)
res["predict_mpixel_per_s"] = round(H * W / s / 1e6, 3)
hold = pick[200_000:300_000]
res["holdout_accuracy_200k"] = round(float((clf.predict(F[:, hold].T) == y[hold]).mean()), 4)
if big:
    _, s = fit(1_000_000, 100)
    res["train_1m_100t_s"] = round(s, 3)
    res["train_1m_samples_per_s"] = round(1_000_000 / s)
print(json.dumps(res))

#!/usr/bin/env python3
"""scikit-learn on the feature matrix `rasterflow bench forest --features-out FILE` wrote,
for machines without rasterio (the GPU machine): the same features, sampling, forest and
whole-scene prediction as ../shared/bench/baseline_sklearn.py, minus the GeoTIFF reads.
usage: sklearn-raw.py FILE [--samples N] [--trees T] [--depth D] [--jobs J]
prints one JSON line with train/predict seconds, predict Mpixel/s and accuracy."""
import argparse, json, os, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier

ap = argparse.ArgumentParser()
ap.add_argument("features")
ap.add_argument("--samples", type=int, default=200_000)
ap.add_argument("--trees", type=int, default=50)
ap.add_argument("--depth", type=int, default=16)
ap.add_argument("--jobs", type=int, default=-1)
a = ap.parse_args()
label = np.fromfile(a.features + ".label", dtype=np.uint8)
n = label.size
F = np.fromfile(a.features, dtype="<f4").reshape(6, n)
valid = (F[:4] > 0).all(axis=0) & (label > 0)
rng = np.random.default_rng(42)
idx = np.flatnonzero(valid)
pick = rng.choice(idx, size=min(a.samples * 5 // 4, idx.size), replace=False)
n_train = len(pick) * 4 // 5
Xs = F[:, pick].T
ys = label[pick]
clf = RandomForestClassifier(n_estimators=a.trees, max_depth=a.depth, n_jobs=a.jobs, random_state=42, max_features="sqrt")
t = time.perf_counter()
clf.fit(Xs[:n_train], ys[:n_train])
train = time.perf_counter() - t
acc = float((clf.predict(Xs[n_train:]) == ys[n_train:]).mean())
t = time.perf_counter()
pred = np.empty(n, np.uint8)
step = 1 << 20  # the baseline's 1024×1024 tiles
for i in range(0, n, step):
    pred[i:i + step] = clf.predict(F[:, i:i + step].T)
predict = time.perf_counter() - t
print(json.dumps({"pixels": n, "train_samples": int(n_train), "trees": a.trees, "depth": a.depth, "jobs": a.jobs,
                  "cores": os.cpu_count(), "train_seconds": round(train, 3), "predict_seconds": round(predict, 3),
                  "predict_mpixel_s": round(n / predict / 1e6, 2), "accuracy": round(acc, 4)}))

#!/usr/bin/python3
"""Test helper for forest/parity_test.go: prepares datasets, runs scikit-learn on them.

usage:
  parity.py landsat DATADIR OUTDIR N TREES DEPTH   real Landsat 7 + landclass96, N random labelled pixels, 70/30 split
  parity.py scene SCENEDIR OUTDIR N TREES DEPTH    synthetic S2 scene, sampled exactly like shared/bench/baseline_sklearn.py
  parity.py metrics OUTDIR                         sklearn metrics of OUTDIR/truth.u8 vs OUTDIR/pred.u8

Datasets are written as OUTDIR/{train,val}_X.f32 (float32, column-major: feature after feature),
OUTDIR/{train,val}_y.u8 and OUTDIR/meta.json (features, sizes, sklearn accuracy on the validation set).
DEPTH 0 means unlimited."""
import json, os, sys, time
import numpy as np


def write(out, name, X, y):
    np.ascontiguousarray(X.T, dtype=np.float32).tofile(os.path.join(out, name + "_X.f32"))
    np.asarray(y, dtype=np.uint8).tofile(os.path.join(out, name + "_y.u8"))


def sklearn_acc(Xtr, ytr, Xva, yva, trees, depth):
    from sklearn.ensemble import RandomForestClassifier
    t = time.perf_counter()
    clf = RandomForestClassifier(n_estimators=trees, max_depth=depth or None, n_jobs=-1, random_state=42,
                                 max_features="sqrt")
    clf.fit(Xtr, ytr)
    secs = time.perf_counter() - t
    return float((clf.predict(Xva) == yva).mean()), secs


def landsat(data, out, n, trees, depth):
    from osgeo import gdal
    bands = ["lsat7_2000_10", "lsat7_2000_20", "lsat7_2000_30", "lsat7_2000_40", "lsat7_2000_50", "lsat7_2000_70"]
    arrs = []
    for b in bands:
        ds = gdal.Open(os.path.join(data, b + ".tif"))
        arrs.append(ds.GetRasterBand(1).ReadAsArray().astype(np.float32))
        gt = ds.GetGeoTransform()
    lab = gdal.Open(os.path.join(data, "landclass96.tif"))
    lgt = lab.GetGeoTransform()
    L = lab.GetRasterBand(1).ReadAsArray()
    H, W = arrs[0].shape
    # label pixel containing each band pixel centre (GDAL convention: floor)
    cx = gt[0] + (np.arange(W) + 0.5) * gt[1]
    cy = gt[3] + (np.arange(H) + 0.5) * gt[5]
    lc = np.floor((cx - lgt[0]) / lgt[1]).astype(int)
    lr = np.floor((cy - lgt[3]) / lgt[5]).astype(int)
    okc = (lc >= 0) & (lc < L.shape[1])
    okr = (lr >= 0) & (lr < L.shape[0])
    label = np.zeros((H, W), np.uint8)
    label[np.ix_(okr, okc)] = L[np.ix_(lr[okr], lc[okc])]
    X = np.stack(arrs).reshape(len(bands), -1)
    y = label.ravel()
    valid = (y > 0) & (X > 0).all(axis=0)
    rng = np.random.default_rng(42)
    idx = rng.permutation(np.flatnonzero(valid))[:n]
    ntr = len(idx) * 7 // 10
    Xs, ys = X[:, idx].T, y[idx]
    return bands, Xs[:ntr], ys[:ntr], Xs[ntr:], ys[ntr:]


def scene(sdir, out, n, trees, depth):
    # features and sampling exactly as shared/bench/baseline_sklearn.py
    import rasterio
    arr = []
    for b in ["B02", "B03", "B04", "B08"]:
        with rasterio.open(os.path.join(sdir, f"{b}.tif")) as src:
            arr.append(src.read(1))
    with rasterio.open(os.path.join(sdir, "label.tif")) as src:
        label = src.read(1)
    X = np.stack(arr).astype(np.float32)
    valid = (X > 0).all(axis=0) & (label > 0)
    b02, b03, b04, b08 = X
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.nan_to_num((b08 - b04) / (b08 + b04))
        ndwi = np.nan_to_num((b03 - b08) / (b03 + b08))
    F = np.concatenate([X, ndvi[None], ndwi[None]]).astype(np.float32)
    rng = np.random.default_rng(42)
    idx = np.flatnonzero(valid.ravel())
    pick = rng.choice(idx, size=min(n * 5 // 4, idx.size), replace=False)
    ntr = len(pick) * 4 // 5
    Xs = F.reshape(6, -1)[:, pick].T
    ys = label.ravel()[pick]
    return ["B02", "B03", "B04", "B08", "NDVI", "NDWI"], Xs[:ntr], ys[:ntr], Xs[ntr:], ys[ntr:]


def main():
    mode = sys.argv[1]
    if mode == "metrics":
        from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, precision_recall_fscore_support
        out = sys.argv[2]
        t = np.fromfile(os.path.join(out, "truth.u8"), np.uint8)
        p = np.fromfile(os.path.join(out, "pred.u8"), np.uint8)
        labels = sorted(set(t.tolist()) | set(p.tolist()))
        pr, rc, f1, sup = precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
        print(json.dumps({"classes": labels, "accuracy": accuracy_score(t, p), "kappa": cohen_kappa_score(t, p),
                          "confusion": confusion_matrix(t, p, labels=labels).tolist(), "precision": pr.tolist(),
                          "recall": rc.tolist(), "f1": f1.tolist(), "support": sup.tolist()}))
        return
    src, out, n, trees, depth = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    feats, Xtr, ytr, Xva, yva = (landsat if mode == "landsat" else scene)(src, out, n, trees, depth)
    write(out, "train", Xtr, ytr)
    write(out, "val", Xva, yva)
    acc, secs = sklearn_acc(Xtr, ytr, Xva, yva, trees, depth)
    json.dump({"features": feats, "train": int(len(ytr)), "val": int(len(yva)), "sklearn_accuracy": acc,
               "sklearn_fit_seconds": secs}, open(os.path.join(out, "meta.json"), "w"))


if __name__ == "__main__":
    main()

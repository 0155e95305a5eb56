#!/usr/bin/python3
"""Writes sklearn_forest.json: a small scikit-learn random forest in
FlatForest layout, test features and scikit-learn's predict_proba on them,
for forest_test.go. Run from cuda/testdata: /usr/bin/python3 gen_sklearn_forest.py"""
import json
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

X, y = make_classification(n_samples=3000, n_features=5, n_informative=4, n_redundant=1,
                           n_classes=4, random_state=3)
X = X.astype(np.float32)
classes = np.array([10, 20, 50, 80])
y = classes[y]
rf = RandomForestClassifier(n_estimators=12, max_depth=9, random_state=5).fit(X[:2000], y[:2000])

feature, threshold, left, right, leaf, proba, roots = [], [], [], [], [], [], []
for est in rf.estimators_:
    t = est.tree_
    base = len(feature)
    roots.append(base)
    for i in range(t.node_count):
        if t.children_left[i] < 0:
            feature.append(-1)
            threshold.append(0.0)
            left.append(-1)
            right.append(-1)
            v = t.value[i][0]
            leaf.append(len(proba))
            proba.extend((v / v.sum()).astype(np.float32).tolist())
        else:
            # scikit-learn goes left when x <= threshold (float64) with x
            # float32: the largest float32 <= threshold decides the same.
            th = np.float32(t.threshold[i])
            if float(th) > t.threshold[i]:
                th = np.nextafter(th, np.float32(-np.inf))
            feature.append(int(t.feature[i]))
            threshold.append(float(th))
            left.append(base + int(t.children_left[i]))
            right.append(base + int(t.children_right[i]))
            leaf.append(0)

Xt = X[2000:2600]
P = rf.predict_proba(Xt)
json.dump({
    "sklearn": sklearn.__version__,
    "num_features": X.shape[1], "num_classes": len(classes), "classes": classes.tolist(),
    "feature": feature, "threshold": threshold, "left": left, "right": right,
    "leaf_value": leaf, "proba": proba, "roots": roots,
    "X": Xt.T.tolist(),  # column-major
    "predict_proba": P.tolist(), "predict": rf.predict(Xt).tolist(),
}, open("sklearn_forest.json", "w"))

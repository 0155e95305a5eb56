#!/usr/bin/python3
"""Test helper for forest/onnx_test.go: validates an ONNX file with onnx.checker (full check, shape
inference) and evaluates its TreeEnsembleClassifier with an independent reference walker written
from the ai.onnx.ml operator spec.
usage: onnx_check.py MODEL.onnx ROWS.f32 NFEATURES  -> prints JSON {"label": [...], "proba": [[...]...]}"""
import json, sys
import numpy as np
import onnx
from onnx import helper

m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
nf = int(sys.argv[3])
X = np.fromfile(sys.argv[2], np.float32).reshape(-1, nf)
(node,) = m.graph.node
assert node.op_type == "TreeEnsembleClassifier" and node.domain == "ai.onnx.ml"
A = {a.name: helper.get_attribute_value(a) for a in node.attribute}
assert A["post_transform"] in (b"NONE", "NONE")
key = {(t, n): i for i, (t, n) in enumerate(zip(A["nodes_treeids"], A["nodes_nodeids"]))}
leafw = {}
for t, n, c, w in zip(A["class_treeids"], A["class_nodeids"], A["class_ids"], A["class_weights"]):
    leafw.setdefault((t, n), []).append((c, w))
labels = A["classlabels_int64s"]
trees = sorted(set(A["nodes_treeids"]))
out_p, out_l = [], []
for x in X:
    p = np.zeros(len(labels))
    for t in trees:
        i = key[(t, 0)]
        while A["nodes_modes"][i] not in (b"LEAF", "LEAF"):
            assert A["nodes_modes"][i] in (b"BRANCH_LEQ", "BRANCH_LEQ")
            v = x[A["nodes_featureids"][i]]
            go_true = (A["nodes_missing_value_tracks_true"][i] == 1) if np.isnan(v) else v <= A["nodes_values"][i]
            i = key[(t, A["nodes_truenodeids"][i] if go_true else A["nodes_falsenodeids"][i])]
        for c, w in leafw.get((t, A["nodes_nodeids"][i]), []):
            p[c] += w
    out_p.append(p.tolist())
    out_l.append(int(labels[int(np.argmax(p))]))
print(json.dumps({"label": out_l, "proba": out_p}))

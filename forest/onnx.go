package forest

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// WriteONNX exports the model as an ONNX model (IR version 8, opsets: default
// domain 13, ai.onnx.ml 1) holding one ai.onnx.ml TreeEnsembleClassifier.
// Input "X": float tensor [N, features] in Features order. Outputs "label":
// int64 class codes [N], and "probabilities": float [N, classes] in Classes
// order, the mean of the leaf distributions (leaf weights are divided by the
// number of trees, post_transform NONE). Branches are BRANCH_LEQ (x <= t goes
// to the true branch) and nodes_missing_value_tracks_true is 1, so NaN goes
// left as in Predict. The protobuf is encoded by hand.
func (m *Model) WriteONNX(w io.Writer) error {
	nk := len(m.classes)
	var (
		treeIDs, nodeIDs, featIDs, trueIDs, falseIDs, missing []int64
		values                                                []float32
		modes                                                 []string
		cTree, cNode, cID                                     []int64
		cWeight                                               []float32
	)
	inv := 1 / float64(len(m.trees))
	for ti, t := range m.trees {
		for i, nd := range t.nodes {
			treeIDs = append(treeIDs, int64(ti))
			nodeIDs = append(nodeIDs, int64(i))
			missing = append(missing, 1)
			if nd.Leaf >= 0 {
				featIDs, values, modes = append(featIDs, 0), append(values, 0), append(modes, "LEAF")
				trueIDs, falseIDs = append(trueIDs, 0), append(falseIDs, 0)
				for k, p := range t.proba[int(nd.Leaf)*nk : int(nd.Leaf)*nk+nk] {
					if p == 0 {
						continue
					}
					cTree, cNode, cID = append(cTree, int64(ti)), append(cNode, int64(i)), append(cID, int64(k))
					cWeight = append(cWeight, float32(float64(p)*inv))
				}
				continue
			}
			featIDs, values, modes = append(featIDs, int64(nd.Feature)), append(values, nd.Threshold), append(modes, "BRANCH_LEQ")
			trueIDs, falseIDs = append(trueIDs, int64(nd.Child)), append(falseIDs, int64(nd.Child)+1)
		}
	}
	labels := make([]int64, nk)
	for i, c := range m.classes {
		labels[i] = int64(c)
	}
	var node pb
	node.str(1, "X")
	node.str(2, "label")
	node.str(2, "probabilities")
	node.str(3, "forest")
	node.str(4, "TreeEnsembleClassifier")
	node.str(7, "ai.onnx.ml")
	node.msg(5, attrInts("classlabels_int64s", labels))
	node.msg(5, attrInts("nodes_treeids", treeIDs))
	node.msg(5, attrInts("nodes_nodeids", nodeIDs))
	node.msg(5, attrInts("nodes_featureids", featIDs))
	node.msg(5, attrFloats("nodes_values", values))
	node.msg(5, attrStrings("nodes_modes", modes))
	node.msg(5, attrInts("nodes_truenodeids", trueIDs))
	node.msg(5, attrInts("nodes_falsenodeids", falseIDs))
	node.msg(5, attrInts("nodes_missing_value_tracks_true", missing))
	node.msg(5, attrInts("class_treeids", cTree))
	node.msg(5, attrInts("class_nodeids", cNode))
	node.msg(5, attrInts("class_ids", cID))
	node.msg(5, attrFloats("class_weights", cWeight))
	var pt pb
	pt.str(1, "post_transform")
	pt.bytes(4, []byte("NONE"))
	pt.varint(20, 3) // STRING
	node.msg(5, pt)

	var graph pb
	graph.msg(1, node)
	graph.str(2, "rasterflow_forest")
	graph.msg(11, valueInfo("X", 1, -1, int64(len(m.features))))
	graph.msg(12, valueInfo("label", 7, -1))
	graph.msg(12, valueInfo("probabilities", 1, -1, int64(nk)))

	var model pb
	model.varint(1, 8) // IR version 8
	model.str(2, "rasterflow")
	model.str(3, "forest-1")
	model.msg(7, graph)
	for _, op := range []struct {
		domain  string
		version uint64
	}{{"", 13}, {"ai.onnx.ml", 1}} {
		var o pb
		o.str(1, op.domain)
		o.varint(2, op.version)
		model.msg(8, o)
	}
	for i, f := range m.features { // feature names as metadata_props
		var kv pb
		kv.str(1, fmt.Sprintf("feature_%d", i))
		kv.str(2, f)
		model.msg(14, kv)
	}
	if _, err := w.Write(model); err != nil {
		return fmt.Errorf("forest: writing ONNX: %w", err)
	}
	return nil
}

// valueInfo encodes a ValueInfoProto of a tensor with the given ONNX element
// type and dims (-1: symbolic "N").
func valueInfo(name string, elem uint64, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		var dim pb
		if d < 0 {
			dim.str(2, "N")
		} else {
			dim.varint(1, uint64(d))
		}
		shape.msg(1, dim)
	}
	var tensor pb
	tensor.varint(1, elem)
	tensor.msg(2, shape)
	var typ pb
	typ.msg(1, tensor)
	var vi pb
	vi.str(1, name)
	vi.msg(2, typ)
	return vi
}

func attrInts(name string, v []int64) pb {
	var a, packed pb
	a.str(1, name)
	for _, x := range v {
		packed = binary.AppendUvarint(packed, uint64(x))
	}
	a.bytes(8, packed)
	a.varint(20, 7) // INTS
	return a
}

func attrFloats(name string, v []float32) pb {
	var a, packed pb
	a.str(1, name)
	for _, x := range v {
		packed = binary.LittleEndian.AppendUint32(packed, math.Float32bits(x))
	}
	a.bytes(7, packed)
	a.varint(20, 6) // FLOATS
	return a
}

func attrStrings(name string, v []string) pb {
	var a pb
	a.str(1, name)
	for _, s := range v {
		a.bytes(9, []byte(s))
	}
	a.varint(20, 8) // STRINGS
	return a
}

// pb is a minimal protobuf encoder: varint and length-delimited fields.
type pb []byte

func (p *pb) tag(field, wire uint64) { *p = binary.AppendUvarint(*p, field<<3|wire) }

func (p *pb) varint(field, v uint64) {
	p.tag(field, 0)
	*p = binary.AppendUvarint(*p, v)
}

func (p *pb) bytes(field uint64, b []byte) {
	p.tag(field, 2)
	*p = binary.AppendUvarint(*p, uint64(len(b)))
	*p = append(*p, b...)
}

func (p *pb) str(field uint64, s string) { p.bytes(field, []byte(s)) }
func (p *pb) msg(field uint64, m pb)     { p.bytes(field, m) }

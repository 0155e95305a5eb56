package forest

import "github.com/rasterflow/rasterflow/cuda"

// Flat returns the forest as flat arrays with absolute node indexes, the
// layout package cuda uploads to a GPU. Its reference predictor gives the
// same classes and confidences as Predict (see TestFlatMatchesPredict).
func (m *Model) Flat() cuda.FlatForest {
	nk := len(m.classes)
	f := cuda.FlatForest{NumFeatures: len(m.features), NumClasses: nk, Classes: append([]uint8(nil), m.classes...)}
	for _, t := range m.trees {
		base := int32(len(f.Feature))
		leafBase := int32(len(f.Proba) / nk)
		f.Roots = append(f.Roots, base)
		for _, nd := range t.nodes {
			if nd.Leaf >= 0 {
				f.Feature = append(f.Feature, -1)
				f.Threshold = append(f.Threshold, 0)
				f.Left = append(f.Left, -1)
				f.Right = append(f.Right, -1)
				f.LeafValue = append(f.LeafValue, (leafBase+nd.Leaf)*int32(nk))
				continue
			}
			f.Feature = append(f.Feature, int32(nd.Feature))
			f.Threshold = append(f.Threshold, nd.Threshold)
			f.Left = append(f.Left, base+nd.Child)
			f.Right = append(f.Right, base+nd.Child+1)
			f.LeafValue = append(f.LeafValue, 0)
		}
		f.Proba = append(f.Proba, t.proba...)
	}
	return f
}

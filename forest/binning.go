package forest

import (
	"slices"
	"sort"
)

// edgeSampleMax is the number of rows (evenly strided) used to compute the
// quantile bin edges of a feature.
const edgeSampleMax = 1 << 18

// binEdges returns ascending, distinct split thresholds for one feature
// column, at most maxBins-1 of them. A value v falls in bin b, the number of
// edges strictly below v, so "bin <= b" is the same as "v <= edges[b]". When
// the column has at most maxBins distinct values the edges are the midpoints
// between consecutive distinct values (exact splits, as scikit-learn);
// otherwise they sit at quantiles. NaN values are ignored.
func binEdges(col []float32, maxBins int) []float32 {
	step := max(1, (len(col)+edgeSampleMax-1)/edgeSampleMax)
	vals := make([]float32, 0, len(col)/step+1)
	for i := 0; i < len(col); i += step {
		if v := col[i]; v == v {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	slices.Sort(vals)
	// distinct values with their counts
	distinct := vals[:0:0]
	counts := []int{}
	for i, v := range vals {
		if i == 0 || v != vals[i-1] {
			distinct = append(distinct, v)
			counts = append(counts, 0)
		}
		counts[len(counts)-1]++
	}
	if len(distinct) <= maxBins {
		edges := make([]float32, 0, len(distinct)-1)
		for i := 0; i+1 < len(distinct); i++ {
			edges = append(edges, midpoint(distinct[i], distinct[i+1]))
		}
		return edges
	}
	// quantile edges: cut after the distinct value holding the j/maxBins quantile
	edges := make([]float32, 0, maxBins-1)
	cum, next := 0, 1
	for i := 0; i+1 < len(distinct) && len(edges) < maxBins-1; i++ {
		cum += counts[i]
		if float64(cum) >= float64(next)*float64(len(vals))/float64(maxBins) {
			edges = append(edges, midpoint(distinct[i], distinct[i+1]))
			for float64(cum) >= float64(next)*float64(len(vals))/float64(maxBins) {
				next++
			}
		}
	}
	return edges
}

// midpoint returns a threshold t with a <= t < b (a < b).
func midpoint(a, b float32) float32 {
	m := float32((float64(a) + float64(b)) / 2)
	if m >= b || m < a {
		return a
	}
	return m
}

// binColumn writes the bin index of every value of col into dst. NaN maps to
// bin 0, consistent with prediction where NaN goes left (x > t is false).
func binColumn(dst []uint8, col []float32, edges []float32) {
	for i, v := range col {
		if v != v {
			dst[i] = 0
			continue
		}
		dst[i] = uint8(sort.Search(len(edges), func(j int) bool { return edges[j] >= v }))
	}
}

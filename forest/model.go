package forest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// node is a packed 16-byte tree node, the stored form (prediction uses
// bnode, built from it by compile). An internal node sends a row to Child
// when x[Feature] <= Threshold (NaN included: NaN > t is false) and to
// Child+1 otherwise; children are adjacent. A leaf loops on itself (Child is
// its own index, Threshold +Inf, Feature 0) so that prediction can walk a
// fixed number of steps without branches; Leaf is its row in the tree's
// probability table (-1 for internal nodes).
type node struct {
	Feature   uint32
	Threshold float32
	Child     int32
	Leaf      int32
}

// tree is one decision tree: nodes (root at 0) and the class-probability
// table of its leaves, leaves×classes float32 rows summing to 1.
type tree struct {
	nodes []node
	proba []float32
	depth int // longest root-to-leaf path, in edges

	// prediction form (see compile): 8-byte nodes comparing bin indices
	bnodes []bnode // nil when the model is packed
	leafOf []int32 // leaf row of every leaf node
}

// Info describes the training run; it is stored in the model file.
type Info struct {
	Samples     int   `json:"samples"`      // training samples
	ClassCounts []int `json:"class_counts"` // per class, in Classes order
	Nodes       int   `json:"nodes"`        // all trees
	Leaves      int   `json:"leaves"`       // all trees
}

// Model is a trained random forest. It is safe for concurrent Predict calls.
type Model struct {
	features []string
	classes  []uint8
	params   Params
	info     Info
	metrics  json.RawMessage
	trees    []tree
	workers  int
	edges    []*[maxEdges]float32 // per feature: sorted distinct thresholds, padded with +Inf
	packed   *packedForest        // AVX-512 prediction form; nil: bnodes in the trees
}

// Features returns the feature names in the order Predict expects them.
func (m *Model) Features() []string { return slices.Clone(m.features) }

// Classes returns the class codes in the order of Predict's proba columns.
func (m *Model) Classes() []uint8 { return slices.Clone(m.classes) }

// Params returns the training hyper-parameters (Workers is 0 for a loaded model).
func (m *Model) Params() Params { return m.params }

// Info returns facts about the training run.
func (m *Model) Info() Info { return m.info }

// Metrics returns the metrics JSON stored with the model (nil if none).
func (m *Model) Metrics() json.RawMessage { return slices.Clone(m.metrics) }

// SetMetrics stores a metrics JSON document (for example the Metrics of a
// validation set from Evaluate, marshalled) with the model; it is written by
// MarshalBinary. It must be valid JSON; nil clears it.
func (m *Model) SetMetrics(js json.RawMessage) error {
	if js == nil {
		m.metrics = nil
		return nil
	}
	if !json.Valid(js) {
		return fmt.Errorf("forest: SetMetrics: invalid JSON")
	}
	m.metrics = slices.Clone(js)
	return nil
}

// SetWorkers sets the number of goroutines Predict uses (0: GOMAXPROCS).
// Call it before sharing the model between goroutines.
func (m *Model) SetWorkers(n int) { m.workers = n }

// CheckFeatures reports whether every model feature is present in have (by
// name); the error names the missing ones. Use FeatureIndex to reorder columns.
func (m *Model) CheckFeatures(have []string) error {
	_, err := m.FeatureIndex(have)
	return err
}

// FeatureIndex returns, for every model feature in order, its index in have,
// or an error (wrapping ErrFeatures) naming all missing features.
func (m *Model) FeatureIndex(have []string) ([]int, error) {
	pos := make(map[string]int, len(have))
	for i, h := range have {
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
	idx := make([]int, len(m.features))
	var missing []string
	for i, f := range m.features {
		j, ok := pos[f]
		if !ok {
			missing = append(missing, f)
		}
		idx[i] = j
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s (model needs %s)", ErrFeatures, strings.Join(missing, ", "), strings.Join(m.features, ", "))
	}
	return idx, nil
}

// Rows pushed through one tree at a time: a deep tree does not fit in the
// core's cache, so big blocks amortise its misses (65536 rows were 4× faster
// than 512 for 50 depth-16 trees); smaller blocks only to feed every worker.
const (
	maxBlockRows = 1 << 16
	minBlockRows = 1 << 10
)

// Predict classifies len(X[0]) rows, in parallel blocks of up to 65536 rows. X is column-major, X[f][row], in
// Features order. Each output is optional (nil to skip): class receives the
// class code with the highest mean probability (ties go to the first class in
// Classes order, like scikit-learn), proba[k][row] the mean over trees of the
// leaf class distributions for class k (as scikit-learn's predict_proba), conf
// the highest probability. NaN features follow the left branch (x <= t);
// callers wanting NaN pixels as nodata mask them out themselves.
func (m *Model) Predict(X [][]float32, class []uint8, proba [][]float32, conf []float32) error {
	nf, nk := len(m.features), len(m.classes)
	if nf == 0 || m.edges == nil {
		return fmt.Errorf("forest: Predict on an empty model (use Train or Load)")
	}
	if len(X) != nf {
		return fmt.Errorf("%w: Predict got %d feature columns, model has %d", ErrShape, len(X), nf)
	}
	rows := len(X[0])
	for f, c := range X {
		if len(c) != rows {
			return fmt.Errorf("%w: feature column %d (%s) has %d rows, column 0 has %d", ErrShape, f, m.features[f], len(c), rows)
		}
	}
	if class != nil && len(class) != rows {
		return fmt.Errorf("%w: class output has %d rows, want %d", ErrShape, len(class), rows)
	}
	if conf != nil && len(conf) != rows {
		return fmt.Errorf("%w: conf output has %d rows, want %d", ErrShape, len(conf), rows)
	}
	if proba != nil {
		if len(proba) != nk {
			return fmt.Errorf("%w: proba has %d columns, want %d classes", ErrShape, len(proba), nk)
		}
		for k, c := range proba {
			if len(c) != rows {
				return fmt.Errorf("%w: proba column %d has %d rows, want %d", ErrShape, k, len(c), rows)
			}
		}
	}
	if rows == 0 {
		return nil
	}
	m.predictRows(X, rows, class, proba, conf)
	return nil
}

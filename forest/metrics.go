package forest

import (
	"encoding/json"
	"fmt"
)

// Codes is a list of class codes; it marshals to JSON as an array of numbers
// (not base64 like []byte).
type Codes []uint8

// MarshalJSON implements json.Marshaler.
func (c Codes) MarshalJSON() ([]byte, error) {
	ints := make([]int, len(c))
	for i, v := range c {
		ints[i] = int(v)
	}
	return json.Marshal(ints)
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Codes) UnmarshalJSON(b []byte) error {
	var ints []int
	if err := json.Unmarshal(b, &ints); err != nil {
		return err
	}
	out := make(Codes, len(ints))
	for i, v := range ints {
		if v < 0 || v > 255 {
			return fmt.Errorf("forest: class code %d out of range 0..255", v)
		}
		out[i] = uint8(v)
	}
	*c = out
	return nil
}

// ClassMetrics are the scores of one class (zero when undefined, as
// scikit-learn's zero_division=0).
type ClassMetrics struct {
	Class     uint8   `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int64   `json:"support"` // true samples of the class
}

// Metrics summarise a classification against the truth.
type Metrics struct {
	N         int64          `json:"n"`         // pairs counted
	Ignored   int64          `json:"ignored"`   // pairs with a code outside Classes
	Accuracy  float64        `json:"accuracy"`  // overall accuracy
	Kappa     float64        `json:"kappa"`     // Cohen's kappa (1 when chance agreement is 1 and accuracy is 1, else 0 in that case)
	MacroF1   float64        `json:"macro_f1"`  // unweighted mean of per-class F1
	Classes   Codes          `json:"classes"`   // row/column order of Confusion
	Confusion [][]int64      `json:"confusion"` // Confusion[truth][predicted]
	PerClass  []ClassMetrics `json:"per_class"`
}

// Evaluate compares predictions with the truth. classes fixes the class list
// and order; nil means every code seen in truth or pred, ascending. Pairs with
// a code outside classes are counted in Ignored only.
func Evaluate(truth, pred []uint8, classes []uint8) (Metrics, error) {
	if len(truth) != len(pred) {
		return Metrics{}, fmt.Errorf("%w: Evaluate: %d truth values, %d predictions", ErrShape, len(truth), len(pred))
	}
	if classes == nil {
		var seen [256]bool
		for i := range truth {
			seen[truth[i]], seen[pred[i]] = true, true
		}
		for c, s := range seen {
			if s {
				classes = append(classes, uint8(c))
			}
		}
	}
	var pos [256]int
	for i := range pos {
		pos[i] = -1
	}
	for i, c := range classes {
		if pos[c] >= 0 {
			return Metrics{}, fmt.Errorf("%w: Evaluate: duplicate class %d", ErrShape, c)
		}
		pos[c] = i
	}
	k := len(classes)
	m := Metrics{Classes: Codes(append([]uint8(nil), classes...)), Confusion: make([][]int64, k), PerClass: make([]ClassMetrics, k)}
	for i := range m.Confusion {
		m.Confusion[i] = make([]int64, k)
	}
	for i := range truth {
		t, p := pos[truth[i]], pos[pred[i]]
		if t < 0 || p < 0 {
			m.Ignored++
			continue
		}
		m.Confusion[t][p]++
		m.N++
	}
	if m.N == 0 {
		return m, nil
	}
	rows, cols := make([]int64, k), make([]int64, k)
	var diag int64
	for t := range k {
		for p := range k {
			rows[t] += m.Confusion[t][p]
			cols[p] += m.Confusion[t][p]
		}
		diag += m.Confusion[t][t]
	}
	n := float64(m.N)
	m.Accuracy = float64(diag) / n
	var pe float64
	for c := range k {
		pe += float64(rows[c]) * float64(cols[c]) / (n * n)
		cm := ClassMetrics{Class: classes[c], Support: rows[c]}
		tp := float64(m.Confusion[c][c])
		if cols[c] > 0 {
			cm.Precision = tp / float64(cols[c])
		}
		if rows[c] > 0 {
			cm.Recall = tp / float64(rows[c])
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		m.PerClass[c] = cm
		m.MacroF1 += cm.F1 / float64(k)
	}
	switch {
	case pe < 1:
		m.Kappa = (m.Accuracy - pe) / (1 - pe)
	case m.Accuracy == 1:
		m.Kappa = 1
	}
	return m, nil
}

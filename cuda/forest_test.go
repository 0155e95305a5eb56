package cuda

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

type sklearnGolden struct {
	Sklearn      string      `json:"sklearn"`
	NumFeatures  int         `json:"num_features"`
	NumClasses   int         `json:"num_classes"`
	Classes      []uint8     `json:"classes"`
	Feature      []int32     `json:"feature"`
	Threshold    []float32   `json:"threshold"`
	Left         []int32     `json:"left"`
	Right        []int32     `json:"right"`
	LeafValue    []int32     `json:"leaf_value"`
	Proba        []float32   `json:"proba"`
	Roots        []int32     `json:"roots"`
	X            [][]float32 `json:"X"`
	PredictProba [][]float64 `json:"predict_proba"`
	Predict      []uint8     `json:"predict"`
}

// TestForestMatchesSklearn checks the reference predictor against
// scikit-learn's predict_proba / predict on a forest it trained
// (testdata/gen_sklearn_forest.py).
func TestForestMatchesSklearn(t *testing.T) {
	b, err := os.ReadFile("testdata/sklearn_forest.json")
	if err != nil {
		t.Fatal(err)
	}
	var g sklearnGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	f := FlatForest{NumFeatures: g.NumFeatures, NumClasses: g.NumClasses, Feature: g.Feature, Threshold: g.Threshold,
		Left: g.Left, Right: g.Right, LeafValue: g.LeafValue, Proba: g.Proba, Roots: g.Roots, Classes: g.Classes}
	n := len(g.X[0])
	class, conf := make([]uint8, n), make([]float32, n)
	if err := f.Predict(g.X, class, conf); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := g.PredictProba[i]
		best, second := 0, -1
		for k := range p {
			if p[k] > p[best] {
				best = k
			}
		}
		for k := range p {
			if k != best && (second < 0 || p[k] > p[second]) {
				second = k
			}
		}
		if math.Abs(float64(conf[i])-p[best]) > 1e-5 {
			t.Fatalf("row %d: confidence %v, scikit-learn %v", i, conf[i], p[best])
		}
		nearTie := second >= 0 && p[best]-p[second] < 1e-5
		if class[i] != g.Predict[i] && !nearTie {
			t.Fatalf("row %d: class %d, scikit-learn %d (proba %v)", i, class[i], g.Predict[i], p)
		}
	}
	t.Logf("%d rows agree with scikit-learn %s", n, g.Sklearn)
}

// TestForestPredictByHand checks a two-tree forest against values worked
// out by hand, including NaN (left), ties (lowest index) and Classes.
func TestForestPredictByHand(t *testing.T) {
	f := FlatForest{
		NumFeatures: 2, NumClasses: 3,
		// tree 0: x0 > 0.5 ? leaf B : leaf A; tree 1: x1 > 2 ? (x0 > 0.25 ? C : D) : D
		Feature:   []int32{0, -1, -1, 1, 0, -1, -1, -1},
		Threshold: []float32{0.5, 0, 0, 2, 0.25, 0, 0, 0},
		Left:      []int32{1, 0, 0, 7, 6, 0, 0, 0},
		Right:     []int32{2, 0, 0, 4, 5, 0, 0, 0},
		LeafValue: []int32{0, 0, 3, 0, 0, 6, 9, 9},
		Proba:     []float32{1, 0, 0 /*A*/, 0, 1, 0 /*B*/, 0, 0, 1 /*C*/, 0, 0.5, 0.5 /*D*/},
		Roots:     []int32{0, 3},
	}
	nan := float32(math.NaN())
	X := [][]float32{{0.1, 0.9, 0.9, nan, 0.5}, {0, 3, 0, 3, 2}}
	// Row 0: A + D = (1, .5, .5) -> 0, conf .5
	// Row 1: B + C = (0, 1, 1) -> tie, 1, conf .5
	// Row 2: B + D = (0, 1.5, .5) -> 1, conf .75
	// Row 3: NaN goes left: A + D -> 0, conf .5
	// Row 4: x0 = .5 is not > .5: A; x1 = 2 is not > 2: D -> 0
	wantC := []uint8{0, 1, 1, 0, 0}
	wantP := []float32{0.5, 0.5, 0.75, 0.5, 0.5}
	class, conf := make([]uint8, 5), make([]float32, 5)
	if err := f.Predict(X, class, conf); err != nil {
		t.Fatal(err)
	}
	for i := range wantC {
		if class[i] != wantC[i] || conf[i] != wantP[i] {
			t.Errorf("row %d: class %d conf %v, want %d %v", i, class[i], conf[i], wantC[i], wantP[i])
		}
	}
	f.Classes = []uint8{7, 8, 9}
	if err := f.Predict(X, class, nil); err != nil || class[1] != 8 || class[0] != 7 {
		t.Errorf("with Classes: %v %v", class, err)
	}
	if d, err := f.Validate(); err != nil || d != 2 {
		t.Errorf("Validate() = %d, %v; want depth 2", d, err)
	}
}

func TestForestValidate(t *testing.T) {
	base := func() FlatForest {
		return FlatForest{NumFeatures: 1, NumClasses: 2,
			Feature: []int32{0, -1, -1}, Threshold: []float32{0, 0, 0},
			Left: []int32{1, 0, 0}, Right: []int32{2, 0, 0}, LeafValue: []int32{0, 0, 2},
			Proba: []float32{1, 0, 0, 1}, Roots: []int32{0}}
	}
	if _, err := func() (int, error) { f := base(); return f.Validate() }(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mod  func(*FlatForest)
		want string
	}{
		"cycle":        {func(f *FlatForest) { f.Left[0] = 0 }, "reached twice"},
		"shared":       {func(f *FlatForest) { f.Right[0] = 1 }, "reached twice"},
		"child range":  {func(f *FlatForest) { f.Right[0] = 3 }, "out of range"},
		"feature":      {func(f *FlatForest) { f.Feature[0] = 1 }, "feature 1 of 1"},
		"bad leaf tag": {func(f *FlatForest) { f.Feature[1] = -2 }, "feature -2"},
		"leaf range":   {func(f *FlatForest) { f.LeafValue[2] = 3 }, "probabilities at 3..5"},
		"root":         {func(f *FlatForest) { f.Roots = []int32{5} }, "root 5"},
		"lengths":      {func(f *FlatForest) { f.Left = f.Left[:2] }, "lengths"},
		"classes":      {func(f *FlatForest) { f.Classes = []uint8{1} }, "class codes"},
		"no trees":     {func(f *FlatForest) { f.Roots = nil }, "no trees"},
		"nclasses":     {func(f *FlatForest) { f.NumClasses = 300 }, "NumClasses 300"},
	} {
		f := base()
		c.mod(&f)
		_, err := f.Validate()
		if !errors.Is(err, ErrForest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrForest with %q", name, err, c.want)
		}
		if err := f.Predict([][]float32{{1}}, make([]uint8, 1), nil); !errors.Is(err, ErrForest) {
			t.Errorf("%s: Predict ran on an invalid forest: %v", name, err)
		}
	}
	f := base()
	if err := f.Predict([][]float32{{1}, {2}}, nil, nil); !errors.Is(err, ErrShape) {
		t.Errorf("two columns for one feature: %v", err)
	}
	if err := f.Predict([][]float32{{1, 2}}, make([]uint8, 1), nil); !errors.Is(err, ErrShape) {
		t.Errorf("short class output: %v", err)
	}
}

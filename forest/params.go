package forest

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
)

// Params are the training hyper-parameters. Start from DefaultParams and
// override fields: the zero value of Bootstrap is false (no bootstrap), while
// zero values of the numeric fields select their defaults.
type Params struct {
	// Trees is the number of trees (default 100).
	Trees int `json:"trees"`
	// MaxDepth limits the depth of every tree (root has depth 0); 0 means unlimited.
	MaxDepth int `json:"max_depth"`
	// MinSamplesLeaf is the minimum number of distinct training samples in a
	// leaf, as in scikit-learn (default 1).
	MinSamplesLeaf int `json:"min_samples_leaf"`
	// MaxFeatures is the number of features tried per split: "sqrt" (default),
	// "log2", "all", a fraction in (0,1] such as "0.5", or an integer count such as "3".
	MaxFeatures string `json:"max_features"`
	// Bootstrap draws len(samples) samples with replacement for every tree.
	Bootstrap bool `json:"bootstrap"`
	// ClassWeight is "none" (or "") or "balanced": weight n/(k·count(class)) as
	// in scikit-learn, computed on the whole training set.
	ClassWeight string `json:"class_weight"`
	// Bins is the maximum number of histogram bins per feature, 2..256 (default 256).
	Bins int `json:"bins"`
	// Seed makes training reproducible: the same data, Params and Seed give
	// the same model bytes whatever Workers or GOMAXPROCS.
	Seed uint64 `json:"seed"`
	// Workers is the number of goroutines (0: GOMAXPROCS). It is not stored in
	// the model and does not change the result.
	Workers int `json:"-"`
}

// DefaultParams returns scikit-learn-like defaults: 100 trees, unlimited
// depth, min_samples_leaf 1, max_features "sqrt", bootstrap, no class
// weights, 256 bins, seed 0.
func DefaultParams() Params {
	return Params{Trees: 100, MinSamplesLeaf: 1, MaxFeatures: "sqrt", Bootstrap: true, ClassWeight: "none", Bins: 256}
}

// normalize fills defaults and validates p.
func (p Params) normalize() (Params, error) {
	if p.Trees == 0 {
		p.Trees = 100
	}
	if p.MinSamplesLeaf == 0 {
		p.MinSamplesLeaf = 1
	}
	if p.MaxFeatures == "" {
		p.MaxFeatures = "sqrt"
	}
	if p.ClassWeight == "" {
		p.ClassWeight = "none"
	}
	if p.Bins == 0 {
		p.Bins = 256
	}
	if p.Workers <= 0 {
		p.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case p.Trees < 1 || p.Trees > 1<<20:
		return p, fmt.Errorf("%w: trees %d out of range 1..%d", ErrParams, p.Trees, 1<<20)
	case p.MaxDepth < 0 || p.MaxDepth > 1000:
		return p, fmt.Errorf("%w: max_depth %d out of range 0..1000", ErrParams, p.MaxDepth)
	case p.MinSamplesLeaf < 1:
		return p, fmt.Errorf("%w: min_samples_leaf %d < 1", ErrParams, p.MinSamplesLeaf)
	case p.Bins < 2 || p.Bins > 256:
		return p, fmt.Errorf("%w: bins %d out of range 2..256", ErrParams, p.Bins)
	case p.ClassWeight != "none" && p.ClassWeight != "balanced":
		return p, fmt.Errorf("%w: class_weight %q (want none or balanced)", ErrParams, p.ClassWeight)
	}
	if _, err := p.mtry(1); err != nil {
		return p, err
	}
	return p, nil
}

// mtry resolves MaxFeatures for nf features.
func (p Params) mtry(nf int) (int, error) {
	var m int
	switch s := strings.ToLower(strings.TrimSpace(p.MaxFeatures)); s {
	case "sqrt", "auto":
		m = int(math.Sqrt(float64(nf)))
	case "log2":
		m = int(math.Log2(float64(nf)))
	case "all", "none":
		m = nf
	default:
		if n, err := strconv.Atoi(s); err == nil {
			if n < 1 {
				return 0, fmt.Errorf("%w: max_features %q < 1", ErrParams, p.MaxFeatures)
			}
			m = n
			break
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return 0, fmt.Errorf("%w: max_features %q (want sqrt, log2, all, a fraction in (0,1] or a count)", ErrParams, p.MaxFeatures)
		}
		m = int(f * float64(nf)) // truncation as in scikit-learn
	}
	return max(1, min(m, nf)), nil
}

package forest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const python = "/usr/bin/python3"

// needSklearn skips the test unless python3 with scikit-learn (and the
// modules in extra) is importable.
func needSklearn(t testing.TB, extra ...string) {
	t.Helper()
	mods := "import sklearn, numpy"
	for _, m := range extra {
		mods += ", " + m
	}
	if err := exec.Command(python, "-c", mods).Run(); err != nil {
		t.Skipf("scikit-learn parity: %s -c %q failed (%v); install python3-sklearn", python, mods, err)
	}
}

func runPython(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(python, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("python %v: %v\n%s", args, err, msg)
	}
	return out
}

type parityMeta struct {
	Features   []string `json:"features"`
	Train      int      `json:"train"`
	Val        int      `json:"val"`
	SklearnAcc float64  `json:"sklearn_accuracy"`
	SklearnSec float64  `json:"sklearn_fit_seconds"`
}

// readArrays loads a dataset written by testdata/parity.py.
func readArrays(t testing.TB, dir, name string, features []string, n int) Dataset {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name+"_X.f32"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(filepath.Join(dir, name+"_y.u8"))
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != n || len(raw) != 4*n*len(features) {
		t.Fatalf("%s: %d labels, %d feature bytes; want %d samples × %d features", name, len(y), len(raw), n, len(features))
	}
	d := Dataset{Features: features, Y: y, X: make([][]float32, len(features))}
	for f := range d.X {
		d.X[f] = make([]float32, n)
		for i := range n {
			d.X[f][i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(f*n+i):]))
		}
	}
	return d
}

// parity trains rasterflow and scikit-learn on the same split and requires
// rasterflow's validation accuracy to be at most 1 point below sklearn's.
func parity(t *testing.T, mode, src string, n, trees, depth int) {
	dir := t.TempDir()
	runPython(t, "testdata/parity.py", mode, src, dir, itoa(n), itoa(trees), itoa(depth))
	var meta parityMeta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	train := readArrays(t, dir, "train", meta.Features, meta.Train)
	val := readArrays(t, dir, "val", meta.Features, meta.Val)
	p := DefaultParams()
	p.Trees, p.MaxDepth, p.Seed = trees, depth, 42
	m, err := Train(context.Background(), train, p)
	if err != nil {
		t.Fatal(err)
	}
	pred := make([]uint8, val.Len())
	if err := m.Predict(val.X, pred, nil, nil); err != nil {
		t.Fatal(err)
	}
	met, err := Evaluate(val.Y, pred, m.Classes())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d train, %d val: rasterflow accuracy %.4f (kappa %.3f), scikit-learn %.4f (fit %.2fs)",
		mode, meta.Train, meta.Val, met.Accuracy, met.Kappa, meta.SklearnAcc, meta.SklearnSec)
	if met.Accuracy < meta.SklearnAcc-0.01 {
		t.Errorf("%s: accuracy %.4f more than 1 point below scikit-learn's %.4f", mode, met.Accuracy, meta.SklearnAcc)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestParityLandsatSklearn(t *testing.T) {
	data := "../../shared/data/real/landsat7-nc-landclass96"
	if _, err := os.Stat(filepath.Join(data, "landclass96.tif")); err != nil {
		t.Skipf("real data absent (%v)", err)
	}
	needSklearn(t, "osgeo.gdal")
	parity(t, "landsat", data, 100000, 50, 0)
}

func TestParitySceneSklearn(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: synthetic scene parity skipped")
	}
	mk := "../../shared/bench/make_scene.py"
	if _, err := os.Stat(mk); err != nil {
		t.Skipf("scene generator absent (%v)", err)
	}
	needSklearn(t, "rasterio")
	scene := t.TempDir()
	runPython(t, mk, scene, "1024", "1")
	parity(t, "scene", scene, 60000, 50, 16)
}

// TestEvaluateSklearn compares Evaluate with scikit-learn's metrics on
// imperfect predictions.
func TestEvaluateSklearn(t *testing.T) {
	needSklearn(t)
	dir := t.TempDir()
	truth, pred := make([]uint8, 5000), make([]uint8, 5000)
	r := newRand(7)
	codes := []uint8{10, 20, 30, 50, 80}
	for i := range truth {
		truth[i] = codes[r.IntN(len(codes))]
		pred[i] = truth[i]
		if r.Float64() < 0.3 {
			pred[i] = codes[r.IntN(len(codes)-1)] // class 80 is never wrongly predicted
		}
	}
	os.WriteFile(filepath.Join(dir, "truth.u8"), truth, 0o644)
	os.WriteFile(filepath.Join(dir, "pred.u8"), pred, 0o644)
	var sk struct {
		Classes                        []int
		Accuracy, Kappa                float64
		Confusion                      [][]int64
		Precision, Recall, F1, Support []float64
	}
	if err := json.Unmarshal(runPython(t, "testdata/parity.py", "metrics", dir), &sk); err != nil {
		t.Fatal(err)
	}
	m, err := Evaluate(truth, pred, nil)
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, a, b float64) {
		if math.Abs(a-b) > 1e-12 {
			t.Errorf("%s: rasterflow %v, sklearn %v", what, a, b)
		}
	}
	near("accuracy", m.Accuracy, sk.Accuracy)
	near("kappa", m.Kappa, sk.Kappa)
	if len(m.Classes) != len(sk.Classes) {
		t.Fatalf("classes %v vs sklearn %v", m.Classes, sk.Classes)
	}
	for i, c := range m.PerClass {
		if int(c.Class) != sk.Classes[i] {
			t.Fatalf("class order %v vs %v", m.Classes, sk.Classes)
		}
		near("precision", c.Precision, sk.Precision[i])
		near("recall", c.Recall, sk.Recall[i])
		near("f1", c.F1, sk.F1[i])
		near("support", float64(c.Support), sk.Support[i])
		for j := range m.Confusion[i] {
			if m.Confusion[i][j] != sk.Confusion[i][j] {
				t.Errorf("confusion[%d][%d] = %d, sklearn %d", i, j, m.Confusion[i][j], sk.Confusion[i][j])
			}
		}
	}
}

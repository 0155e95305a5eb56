package forest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestONNXExport checks the export with onnx.checker and compares an
// independent Python evaluation of the exported ensemble with Predict.
func TestONNXExport(t *testing.T) {
	if err := exec.Command(python, "-c", "import onnx, numpy").Run(); err != nil {
		t.Skipf("python3 onnx absent (%v): apt-get install python3-onnx", err)
	}
	codes := []uint8{10, 20, 30}
	lab := func(x []float32) uint8 { return codes[int((x[0]+1)*1.5+x[1])%3] }
	d, _ := gen(2000, 4, 21, 0.2, codes, lab)
	p := DefaultParams()
	p.Trees, p.MaxDepth = 5, 6
	m := trainT(t, d, p)
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := m.WriteONNX(&buf); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "m.onnx"), buf.Bytes(), 0o644)
	n := 300
	X := make([][]float32, 4)
	var rows []byte
	for i := range n {
		for f := range X {
			v := d.X[f][i]
			if i == 7 && f == 0 {
				v = float32(math.NaN())
			}
			X[f] = append(X[f], v)
		}
	}
	for i := range n {
		for f := range X {
			rows = binary.LittleEndian.AppendUint32(rows, math.Float32bits(X[f][i]))
		}
	}
	os.WriteFile(filepath.Join(dir, "rows.f32"), rows, 0o644)
	out, err := exec.Command(python, "testdata/onnx_check.py", filepath.Join(dir, "m.onnx"), filepath.Join(dir, "rows.f32"), "4").CombinedOutput()
	if err != nil {
		t.Fatalf("onnx check: %v\n%s", err, out)
	}
	var ref struct {
		Label []int
		Proba [][]float64
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	class := make([]uint8, n)
	proba := [][]float32{make([]float32, n), make([]float32, n), make([]float32, n)}
	if err := m.Predict(X, class, proba, nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if int(class[i]) != ref.Label[i] {
			t.Errorf("row %d: Predict class %d, ONNX reference %d", i, class[i], ref.Label[i])
		}
		for k := range proba {
			if math.Abs(float64(proba[k][i])-ref.Proba[i][k]) > 1e-5 {
				t.Errorf("row %d class %d: Predict %v, ONNX reference %v", i, k, proba[k][i], ref.Proba[i][k])
			}
		}
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/forest"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/scene"
	"github.com/rasterflow/rasterflow/tiff"
)

func cmdBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a benchmark: forest")
	}
	switch args[0] {
	case "forest":
		return benchForest(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown benchmark %q (want forest)", args[0])
}

// ForestBench is the JSON line `rasterflow bench forest` prints.
type ForestBench struct {
	Pixels         int     `json:"pixels"`
	TrainSamples   int     `json:"train_samples"`
	Trees          int     `json:"trees"`
	Depth          int     `json:"depth"`
	ReadSeconds    float64 `json:"read_seconds"`
	TrainSeconds   float64 `json:"train_seconds"`
	PredictSeconds float64 `json:"predict_seconds"`
	Accuracy       float64 `json:"accuracy"`
	Workers        int     `json:"workers"`
	// With --device gpu: the same prediction on the GPU (model upload
	// excluded, host↔device copies included), its first-call time
	// (kernel compile or PTX cache load and upload included), and the
	// pixels whose class differs from the CPU's (must be 0).
	GPU                 string  `json:"gpu,omitempty"`
	GPUPredictSeconds   float64 `json:"gpu_predict_seconds,omitempty"`
	GPUFirstCallSeconds float64 `json:"gpu_first_call_seconds,omitempty"`
	GPUMismatches       *int    `json:"gpu_mismatches,omitempty"`
}

// benchForest mirrors ../shared/bench/baseline_sklearn.py: four DN bands,
// NDVI and NDWI as features, samples×5/4 random valid pixels split 80/20,
// train, predict every pixel.
func benchForest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench forest", flag.ContinueOnError)
	dir := fs.String("scene", "", "scene folder with B02.tif B03.tif B04.tif B08.tif label.tif (default: a synthetic scene)")
	size := fs.Int("size", 2048, "synthetic scene size when --scene is not given")
	samples := fs.Int("samples", 200000, "training samples")
	trees := fs.Int("trees", 50, "trees")
	depth := fs.Int("depth", 16, "maximum depth")
	seed := fs.Uint64("seed", 42, "random seed")
	device := fs.String("device", "cpu", "also predict on this device and compare (cpu, gpu, gpu:N)")
	featuresOut := fs.String("features-out", "", "write the feature matrix for bench/sklearn-raw.py: FILE (6×pixels float32, little endian) and FILE.label (uint8)")
	if _, err := parseArgs(fs, args); err != nil {
		return exitError{2}
	}
	ctx := context.Background()
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "rasterflow-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := WriteSynthScene(ctx, tmp, *size, 1); err != nil {
			return err
		}
		*dir = tmp
	}
	start := time.Now()
	names := []string{"B02", "B03", "B04", "B08", "label"}
	bands := make([]scene.Band, len(names))
	for i, n := range names {
		bands[i] = scene.Band{Name: n, URI: filepath.Join(*dir, n+".tif")}
	}
	sc, err := scene.Open(ctx, "bench", bands, scene.Options{Grid: "B02"})
	if err != nil {
		return err
	}
	defer sc.Close()
	g := sc.Grid
	cols, err := sc.Read(ctx, chunk.Window{W: g.Width, H: g.Height})
	if err != nil {
		return err
	}
	n := g.Width * g.Height
	X := make([][]float32, 6)
	for b := range 4 {
		if cols[b].DType != tiff.Uint16 && cols[b].DType != tiff.Uint8 {
			return fmt.Errorf("band %s is %v; the benchmark reads uint8 or uint16 DN", names[b], cols[b].DType)
		}
		X[b] = make([]float32, n)
		if cols[b].DType == tiff.Uint16 {
			for i, v := range chunk.Slice[uint16](cols[b].Data) {
				X[b][i] = float32(v)
			}
		} else {
			for i, v := range cols[b].Data {
				X[b][i] = float32(v)
			}
		}
	}
	label := cols[4].Data
	if cols[4].DType != tiff.Uint8 {
		return fmt.Errorf("label is %v, want uint8", cols[4].DType)
	}
	nd := func(a, b float32) float32 {
		v := (a - b) / (a + b)
		if v != v || math.IsInf(float64(v), 0) {
			return 0 // as numpy.nan_to_num in the baseline
		}
		return v
	}
	X[4], X[5] = make([]float32, n), make([]float32, n)
	var valid []int
	for i := range n {
		X[4][i] = nd(X[3][i], X[2][i]) // NDVI = (B08-B04)/(B08+B04)
		X[5][i] = nd(X[1][i], X[3][i]) // NDWI = (B03-B08)/(B03+B08)
		if X[0][i] > 0 && X[1][i] > 0 && X[2][i] > 0 && X[3][i] > 0 && label[i] > 0 {
			valid = append(valid, i)
		}
	}
	readSec := time.Since(start).Seconds()
	if *featuresOut != "" {
		if err := writeFeatures(*featuresOut, X, label); err != nil {
			return err
		}
	}

	rng := rand.New(rand.NewPCG(*seed, 0))
	want := min(*samples*5/4, len(valid))
	// Partial Fisher–Yates: the first `want` entries are a sample without replacement.
	for i := range want {
		j := i + rng.IntN(len(valid)-i)
		valid[i], valid[j] = valid[j], valid[i]
	}
	pick := valid[:want]
	nTrain := want * 4 / 5
	gather := func(idx []int) forest.Dataset {
		d := forest.Dataset{Features: []string{"B02", "B03", "B04", "B08", "ndvi", "ndwi"}, X: make([][]float32, 6), Y: make([]uint8, len(idx))}
		for f := range 6 {
			d.X[f] = make([]float32, len(idx))
			for k, i := range idx {
				d.X[f][k] = X[f][i]
			}
		}
		for k, i := range idx {
			d.Y[k] = label[i]
		}
		return d
	}
	train, val := gather(pick[:nTrain]), gather(pick[nTrain:])
	p := forest.DefaultParams()
	p.Trees, p.MaxDepth, p.Seed = *trees, *depth, *seed
	t0 := time.Now()
	m, err := forest.Train(ctx, train, p)
	if err != nil {
		return err
	}
	trainSec := time.Since(t0).Seconds()
	vpred := make([]uint8, len(val.Y))
	if err := m.Predict(val.X, vpred, nil, nil); err != nil {
		return err
	}
	correct := 0
	for i := range vpred {
		if vpred[i] == val.Y[i] {
			correct++
		}
	}
	t0 = time.Now()
	pred := make([]uint8, n)
	if err := m.Predict(X, pred, nil, nil); err != nil {
		return err
	}
	predSec := time.Since(t0).Seconds()
	var gpu gpuPredict
	if *device != "cpu" {
		if gpu, err = benchGPUPredict(ctx, *device, m, X, pred); err != nil {
			return err
		}
	}
	res := ForestBench{GPU: gpu.name, GPUPredictSeconds: round3(gpu.seconds), GPUFirstCallSeconds: round3(gpu.first), GPUMismatches: gpu.mismatches, Pixels: n, TrainSamples: nTrain, Trees: *trees, Depth: *depth, ReadSeconds: round3(readSec), TrainSeconds: round3(trainSec),
		PredictSeconds: round3(predSec), Accuracy: math.Round(float64(correct)/float64(max(1, len(vpred)))*1e4) / 1e4, Workers: runtime.GOMAXPROCS(0)}
	return json.NewEncoder(stdout).Encode(res)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

type gpuPredict struct {
	name           string
	seconds, first float64
	mismatches     *int
}

// benchGPUPredict predicts X on the GPU twice (the first call builds or
// loads the kernels) and counts the pixels that differ from want.
func benchGPUPredict(ctx context.Context, device string, m *forest.Model, X [][]float32, want []uint8) (gpuPredict, error) {
	var r gpuPredict
	ord, err := op.DeviceOrdinal(device, gpus(), 0)
	if err != nil {
		return r, fmt.Errorf("bench forest: %w", err)
	}
	if ord < 0 {
		return r, nil
	}
	dv, err := gpus().Get(ord)
	if err != nil {
		return r, fmt.Errorf("bench forest: %w", err)
	}
	t0 := time.Now()
	df, err := dv.LoadForest(m.Flat())
	if err != nil {
		return r, fmt.Errorf("bench forest: uploading the model: %w", err)
	}
	defer df.Close()
	got := make([]uint8, len(want))
	if err := df.Predict(ctx, X, got, nil); err != nil {
		return r, fmt.Errorf("bench forest: GPU predict: %w", err)
	}
	r.first = time.Since(t0).Seconds()
	clear(got)
	t0 = time.Now()
	if err := df.Predict(ctx, X, got, nil); err != nil {
		return r, fmt.Errorf("bench forest: GPU predict: %w", err)
	}
	r.seconds = time.Since(t0).Seconds()
	n := 0
	for i := range want {
		if got[i] != want[i] {
			n++
		}
	}
	r.mismatches = &n
	r.name = fmt.Sprintf("gpu:%d %s", ord, dv.Info().Name)
	return r, nil
}

// writeFeatures writes the features band after band as little-endian
// float32 to path and the labels to path+".label".
func writeFeatures(path string, X [][]float32, label []uint8) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, col := range X {
		if err := binary.Write(w, binary.LittleEndian, col); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".label", label, 0o644)
}

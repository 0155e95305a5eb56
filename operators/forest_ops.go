package operators

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/forest"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

// modelReady is the column of the one-row chunk rf.train emits once its
// model file is written; an rf.predict stage with wait_for_model reads it.
const modelReady = "model_ready"

var rfTrainSpec = &op.Spec{
	Name: "rf.train",
	Kind: op.Transform,
	Doc: "Collects sampled rows (from `sample`) and, when its input ends, trains a random forest, evaluates it on the " +
		"validation rows (split = 1) and writes the model file and a JSON report (accuracy, kappa, per-class F1, confusion matrix, timings). " +
		"It then emits one `model_ready` row, so an rf.predict stage in the same pipeline can wait for the model.",
	Fields: []op.Field{
		{Name: "model", Type: op.String, Required: true, Doc: "model file to write"},
		{Name: "report", Type: op.String, Doc: "JSON report to write (a confusion-matrix PNG is written next to it)"},
		{Name: "features", Type: op.Strings, Doc: "feature columns (default: every column but the label and split)"},
		{Name: "label", Type: op.String, Default: "label", Doc: "label column"},
		{Name: "trees", Type: op.Int, Default: 100, Min: op.Bound(1), Max: op.Bound(100000), Doc: "number of trees"},
		{Name: "max_depth", Type: op.Int, Default: 16, Min: op.Bound(0), Max: op.Bound(64), Doc: "maximum depth (0: unlimited)"},
		{Name: "min_samples_leaf", Type: op.Int, Default: 1, Min: op.Bound(1), Doc: "minimum samples in a leaf"},
		{Name: "max_features", Type: op.String, Default: "sqrt", Doc: "features tried per split: sqrt, log2, all, a fraction or a count"},
		{Name: "bootstrap", Type: op.Bool, Default: true, Doc: "bootstrap samples per tree"},
		{Name: "class_weight", Type: op.String, Default: "none", Enum: []string{"none", "balanced"}, Doc: "class weights"},
		{Name: "bins", Type: op.Int, Default: 256, Min: op.Bound(2), Max: op.Bound(256), Doc: "histogram bins per feature"},
		{Name: "seed", Type: op.Int, Default: 42, Doc: "random seed"},
		{Name: "samples_out", Type: op.String, Doc: "also write the training and validation samples as CSV (features, label, split) for comparison with other tools"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		if err := s.Require("split", cfg.String("label")); err != nil {
			return s, &op.SettingError{Setting: "label", Err: fmt.Errorf("%w (rf.train reads the output of a sample stage)", err)}
		}
		if err := s.Require(cfg.Strings("features")...); err != nil {
			return s, &op.SettingError{Setting: "features", Err: err}
		}
		return op.Schema{Columns: []op.Column{{Name: modelReady, DType: tiff.Uint8}}, ChunkPixels: 1}, nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) {
		p := forest.DefaultParams()
		p.Trees, p.MaxDepth, p.MinSamplesLeaf = cfg.Int("trees"), cfg.Int("max_depth"), cfg.Int("min_samples_leaf")
		p.MaxFeatures, p.Bootstrap, p.ClassWeight = cfg.String("max_features"), cfg.Bool("bootstrap"), cfg.String("class_weight")
		p.Bins, p.Seed = cfg.Int("bins"), uint64(cfg.Int("seed"))
		return &rfTrain{params: p, model: cfg.String("model"), report: cfg.String("report"), features: cfg.Strings("features"),
			label: cfg.String("label"), samplesOut: cfg.String("samples_out"), log: env.Log, now: env.Now, start: env.Now()}, nil
	},
}

type rfTrain struct {
	params         forest.Params
	model, report  string
	samplesOut     string
	features       []string
	label          string
	log            func(string, ...any)
	now            func() time.Time
	start          time.Time
	mu             sync.Mutex
	train, val     forest.Dataset
	firstChunkTime time.Time
}

func (t *rfTrain) Process(ctx context.Context, c *chunk.Chunk, _ op.Emit) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.features == nil {
		for _, n := range c.Names() {
			if n != t.label && n != "split" {
				t.features = append(t.features, n)
			}
		}
	}
	if t.train.X == nil {
		t.firstChunkTime = t.now()
		t.train = forest.Dataset{Features: t.features, X: make([][]float32, len(t.features))}
		t.val = forest.Dataset{Features: t.features, X: make([][]float32, len(t.features))}
	}
	cols := make([][]float32, len(t.features))
	for i, f := range t.features {
		v, err := floatColumn(c, f)
		if err != nil {
			return fmt.Errorf("rf.train: %w", err)
		}
		cols[i] = v
	}
	y, _, err := labelColumn(c, t.label)
	if err != nil {
		return fmt.Errorf("rf.train: %w", err)
	}
	split, err := c.Column("split")
	if err != nil {
		return fmt.Errorf("rf.train: %w", err)
	}
	for r := range y {
		d := &t.train
		if split.Data[r] == 1 {
			d = &t.val
		}
		for f := range cols {
			d.X[f] = append(d.X[f], cols[f][r])
		}
		d.Y = append(d.Y, y[r])
	}
	return nil
}

// TrainReport is what rf.train writes as its report.
type TrainReport struct {
	Model           string          `json:"model"`
	Features        []string        `json:"features"`
	Classes         []uint8         `json:"classes"`
	ClassNames      []string        `json:"class_names"`
	Params          forest.Params   `json:"params"`
	TrainSamples    int             `json:"train_samples"`
	ValSamples      int             `json:"validation_samples"`
	Validation      *forest.Metrics `json:"validation,omitempty"`
	SamplingSeconds float64         `json:"sampling_seconds"`
	TrainSeconds    float64         `json:"train_seconds"`
}

func (t *rfTrain) Finish(ctx context.Context, emit op.Emit) error {
	if err := t.finish(ctx); err != nil {
		return err
	}
	c, err := chunk.New(chunk.Meta{Scene: "model", Window: chunk.Window{W: 1, H: 1}, GridW: 1, GridH: 1, Total: 1, Attrs: map[string]string{"model": t.model}},
		[]chunk.Col{{Name: modelReady, DType: tiff.Uint8, Data: []byte{1}}})
	if err != nil {
		return err
	}
	return emit(ctx, c)
}

func (t *rfTrain) finish(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.train.Y) == 0 {
		return fmt.Errorf("rf.train: no training samples arrived")
	}
	if t.samplesOut != "" {
		if err := writeSamplesCSV(t.samplesOut, t.features, t.train, t.val); err != nil {
			return fmt.Errorf("rf.train: %w", err)
		}
	}
	sampling := t.now().Sub(t.start)
	start := t.now()
	m, err := forest.Train(ctx, t.train, t.params)
	if err != nil {
		return fmt.Errorf("rf.train: %w", err)
	}
	rep := TrainReport{Model: t.model, Features: m.Features(), Classes: m.Classes(), Params: m.Params(),
		TrainSamples: len(t.train.Y), ValSamples: len(t.val.Y), SamplingSeconds: sampling.Seconds(), TrainSeconds: t.now().Sub(start).Seconds()}
	for _, c := range rep.Classes {
		rep.ClassNames = append(rep.ClassNames, WorldCoverName(c))
	}
	if len(t.val.Y) > 0 {
		pred := make([]uint8, len(t.val.Y))
		if err := m.Predict(t.val.X, pred, nil, nil); err != nil {
			return fmt.Errorf("rf.train: %w", err)
		}
		met, err := forest.Evaluate(t.val.Y, pred, m.Classes())
		if err != nil {
			return fmt.Errorf("rf.train: %w", err)
		}
		rep.Validation = &met
		js, _ := json.Marshal(met)
		if err := m.SetMetrics(js); err != nil {
			return err
		}
		t.log("rf.train: %d trees on %d samples in %.2fs; validation accuracy %.4f, kappa %.4f on %d samples",
			t.params.Trees, len(t.train.Y), rep.TrainSeconds, met.Accuracy, met.Kappa, len(t.val.Y))
	}
	if err := os.MkdirAll(filepath.Dir(t.model), 0o755); err != nil {
		return fmt.Errorf("rf.train: %w", err)
	}
	if err := m.WriteFile(t.model); err != nil {
		return fmt.Errorf("rf.train: %w", err)
	}
	if t.report != "" {
		if err := writeJSON(t.report, rep); err != nil {
			return fmt.Errorf("rf.train: report: %w", err)
		}
		if rep.Validation != nil {
			png := strings.TrimSuffix(t.report, ".json") + "-confusion.png"
			if err := writeConfusionPNG(png, rep.Validation, rep.ClassNames); err != nil {
				return fmt.Errorf("rf.train: %w", err)
			}
		}
	}
	return nil
}

var rfPredictSpec = &op.Spec{
	Name: "rf.predict",
	Kind: op.Transform,
	Doc: "Classifies every pixel with a random forest model: adds `class` (uint8 class code, nodata 0) and optionally " +
		"`confidence` (float32, the winning class's mean probability). Pixels with nodata in any feature stay nodata.",
	Device: true,
	Fields: []op.Field{
		{Name: "model", Type: op.String, Required: true, Doc: "model file written by rf.train"},
		{Name: "features", Type: op.Strings, Doc: "feature columns in the model's order (default: the model's feature names; checked when the model is loaded)"},
		{Name: "confidence", Type: op.Bool, Default: false, Doc: "also add the confidence column"},
		{Name: "wait_for_model", Type: op.Bool, Default: false, Doc: "wait for an rf.train stage listed in `in` to write the model (train and predict in one pipeline)"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		var data []op.Schema
		gated := false
		for _, s := range in {
			if s.Has(modelReady) {
				gated = true
			} else {
				data = append(data, s)
			}
		}
		switch {
		case gated && !cfg.Bool("wait_for_model"):
			return op.Schema{}, op.Errorf("wait_for_model", "an input is an rf.train stage: set wait_for_model: true")
		case !gated && cfg.Bool("wait_for_model"):
			return op.Schema{}, op.Errorf("wait_for_model", "no input is an rf.train stage to wait for")
		case len(data) == 0:
			return op.Schema{}, fmt.Errorf("needs an input with pixels besides the rf.train stage")
		}
		s := op.Merge(data)
		if err := s.Require(cfg.Strings("features")...); err != nil {
			return s, &op.SettingError{Setting: "features", Err: err}
		}
		// A model that already exists (not one this run trains) must find
		// its features in the input.
		if !cfg.Bool("wait_for_model") && len(cfg.Strings("features")) == 0 {
			if fs, err := forest.ReadFeatures(cfg.String("model")); err == nil {
				if err := s.Require(fs...); err != nil {
					return s, op.Errorf("model", "model %s was trained on %s: %v", cfg.String("model"), strings.Join(fs, ","), err)
				}
			}
		}
		s = s.With(op.Column{Name: "class", DType: tiff.Uint8})
		if cfg.Bool("confidence") {
			s = s.With(op.Column{Name: "confidence", DType: tiff.Float32})
		}
		return s, nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) {
		p := &rfPredict{path: cfg.String("model"), features: cfg.Strings("features"), confidence: cfg.Bool("confidence"),
			wait: cfg.Bool("wait_for_model"), start: env.Now(), now: env.Now}
		ord, err := op.DeviceOrdinal(env.Device, env.GPUs, stageSpread(env.Stage))
		if err != nil {
			return nil, fmt.Errorf("rf.predict: %w", err)
		}
		if ord >= 0 {
			if p.gpu, err = env.GPUs.Get(ord); err != nil {
				return nil, fmt.Errorf("rf.predict: %w", err)
			}
		}
		if !p.wait {
			// Fail before any scene is read when the model is unusable.
			if _, err := p.load(); err != nil {
				return nil, err
			}
		}
		return p, nil
	},
}

type rfPredict struct {
	path       string
	features   []string
	confidence bool
	// wait: the model is written by an rf.train stage of this run, so
	// chunks wait until the model file is newer than the run's start.
	wait  bool
	start time.Time
	now   func() time.Time
	once  sync.Once
	m     *forest.Model
	err   error
	// gpu, when set, runs inference there; the model is uploaded once
	// (devForest) and reused for every chunk.
	gpu       *cuda.Device
	devForest *cuda.DeviceForest
}

// waitForModel polls until the model file was written during this run.
// Polling (not the model_ready chunk) releases waiting workers, so workers
// blocked here never keep that chunk from being handled.
func (p *rfPredict) waitForModel(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if fi, err := os.Stat(p.path); err == nil && !fi.ModTime().Before(p.start) {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// load reads the model at first use, so a pipeline that trains and then
// predicts in one run finds the model written by its rf.train stage.
func (p *rfPredict) load() (*forest.Model, error) {
	p.once.Do(func() {
		p.m, p.err = forest.ReadFile(p.path)
		if p.err != nil {
			p.err = fmt.Errorf("rf.predict: %w", p.err)
			return
		}
		if p.features == nil {
			p.features = p.m.Features()
		}
		if len(p.features) != len(p.m.Features()) {
			p.err = fmt.Errorf("rf.predict: model %s was trained on %d features (%s), the stage lists %d", p.path, len(p.m.Features()),
				strings.Join(p.m.Features(), ","), len(p.features))
			return
		}
		if p.gpu != nil {
			if p.devForest, p.err = p.gpu.LoadForest(p.m.Flat()); p.err != nil {
				p.err = fmt.Errorf("rf.predict: uploading model %s to GPU %d: %w", p.path, p.gpu.Info().Ordinal, p.err)
			}
		}
	})
	return p.m, p.err
}

func (p *rfPredict) Process(ctx context.Context, c *chunk.Chunk, emit op.Emit) error {
	if c.Meta.Scene == "model" && c.Rec.Schema().HasField(modelReady) {
		return nil
	}
	if p.wait {
		if err := p.waitForModel(ctx); err != nil {
			return err
		}
	}
	m, err := p.load()
	if err != nil {
		return err
	}
	if err := m.CheckFeatures(c.Names()); err != nil && len(p.features) == 0 {
		return fmt.Errorf("rf.predict: %w", err)
	}
	X := make([][]float32, len(p.features))
	for i, f := range p.features {
		v, err := floatColumn(c, f)
		if err != nil {
			return fmt.Errorf("rf.predict: model %s needs feature %q: %w", p.path, f, err)
		}
		X[i] = v
	}
	n := c.Rows()
	class := make([]uint8, n)
	var conf []float32
	if p.confidence {
		conf = make([]float32, n)
	}
	if p.devForest != nil {
		err = p.devForest.Predict(ctx, X, class, conf)
	} else {
		err = m.Predict(X, class, nil, conf)
	}
	if err != nil {
		return fmt.Errorf("rf.predict: %w", err)
	}
	// Pixels with a missing feature are nodata (column by column: one
	// sequential pass per feature).
	nan := float32(math.NaN())
	for _, col := range X {
		col = col[:len(class)]
		for i, v := range col {
			if v != v {
				class[i] = 0
				if conf != nil {
					conf[i] = nan
				}
			}
		}
	}
	zero, fnan := 0.0, math.NaN()
	cols := []chunk.Col{{Name: "class", DType: tiff.Uint8, Nodata: &zero, Data: class}}
	if conf != nil {
		cols = append(cols, chunk.Col{Name: "confidence", DType: tiff.Float32, Nodata: &fnan, Data: chunk.Bytes(conf)})
	}
	nc, err := c.With(cols...)
	if err != nil {
		return err
	}
	return emit(ctx, nc)
}

// writeSamplesCSV writes samples as CSV: the features, the label and the
// split (0 train, 1 validation).
func writeSamplesCSV(path string, features []string, train, val forest.Dataset) error {
	var b strings.Builder
	b.WriteString(strings.Join(features, ",") + ",label,split\n")
	for split, d := range []forest.Dataset{train, val} {
		for r := range d.Y {
			for f := range d.X {
				b.WriteString(strconv.FormatFloat(float64(d.X[f][r]), 'g', -1, 32))
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d,%d\n", d.Y[r], split)
		}
	}
	return writeFileAtomic(path, []byte(b.String()))
}

// Close releases the model's GPU copy.
func (p *rfPredict) Close() error {
	if p.devForest != nil {
		return p.devForest.Close()
	}
	return nil
}

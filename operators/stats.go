package operators

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

var statsSpec = &op.Spec{
	Name: "stats",
	Kind: op.Sink,
	Doc: "Per-scene, per-column count of valid pixels, min, max, mean and a fixed-range histogram, written as JSON. " +
		"With {scene} in `out`, one file per scene when the scene completes; otherwise one file for all scenes at the end.",
	Fields: []op.Field{
		{Name: "out", Type: op.String, Required: true, Doc: "output JSON path; may contain {scene}"},
		{Name: "columns", Type: op.Strings, Doc: "columns to summarise (default: all)"},
		{Name: "bins", Type: op.Int, Default: 64, Min: op.Bound(1), Max: op.Bound(65536), Doc: "histogram bins"},
		{Name: "range", Type: op.Map, Doc: "histogram range per column as \"min,max\"; default: the type's range for integers, -1,1 for floats"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		if err := s.Require(cfg.Strings("columns")...); err != nil {
			return s, &op.SettingError{Setting: "columns", Err: err}
		}
		ranges := cfg.Map("range")
		cols := make([]string, 0, len(ranges))
		for col := range ranges {
			cols = append(cols, col)
		}
		sort.Strings(cols) // report the first bad range the same way every time
		for _, col := range cols {
			if _, _, err := parseRange(ranges[col]); err != nil {
				return s, op.Errorf("range", "%s: %v", col, err)
			}
		}
		if err := checkOutPath(cfg.String("out")); err != nil {
			return s, &op.SettingError{Setting: "out", Err: err}
		}
		return op.Schema{}, nil
	},
	Needs: func(cfg *op.Config) []string { return cfg.Strings("columns") },
	New: func(cfg *op.Config, env op.Env) (any, error) {
		return &statsSink{out: cfg.String("out"), columns: cfg.Strings("columns"), bins: cfg.Int("bins"), ranges: cfg.Map("range"), scenes: map[string]*SceneStats{}}, nil
	},
}

// ColumnStats summarises one column of one scene.
type ColumnStats struct {
	Count     int64   `json:"count"`
	Nodata    int64   `json:"nodata"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Mean      float64 `json:"mean"`
	HistMin   float64 `json:"hist_min"`
	HistMax   float64 `json:"hist_max"`
	Histogram []int64 `json:"histogram"`
	sum       float64
}

// SceneStats is the stats sink's output for one scene.
type SceneStats struct {
	Scene   string                  `json:"scene"`
	Width   int                     `json:"width"`
	Height  int                     `json:"height"`
	CRS     string                  `json:"crs"`
	Chunks  int                     `json:"chunks"`
	Columns map[string]*ColumnStats `json:"columns"`
}

type statsSink struct {
	out     string
	columns []string
	bins    int
	ranges  map[string]string
	mu      sync.Mutex
	scenes  map[string]*SceneStats
}

func parseRange(s string) (float64, float64, error) {
	a, b, ok := strings.Cut(s, ",")
	var lo, hi float64
	_, err1 := fmt.Sscan(strings.TrimSpace(a), &lo)
	_, err2 := fmt.Sscan(strings.TrimSpace(b), &hi)
	if !ok || err1 != nil || err2 != nil || !(hi > lo) {
		return 0, 0, fmt.Errorf("want \"min,max\" with min < max, got %q", s)
	}
	return lo, hi, nil
}

func (s *statsSink) histRange(col chunk.Col) (float64, float64) {
	if r, ok := s.ranges[col.Name]; ok {
		lo, hi, _ := parseRange(r)
		return lo, hi
	}
	switch col.DType {
	case tiff.Uint8:
		return 0, 256
	case tiff.Int8:
		return -128, 128
	case tiff.Uint16:
		return 0, 65536
	case tiff.Int16:
		return -32768, 32768
	}
	return -1, 1
}

func (s *statsSink) Process(ctx context.Context, c *chunk.Chunk, _ op.Emit) error {
	names := s.columns
	if len(names) == 0 {
		names = c.Names()
	}
	partial := make(map[string]*ColumnStats, len(names))
	for _, n := range names {
		col, err := c.Column(n)
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		lo, hi := s.histRange(col)
		cs := &ColumnStats{Min: math.Inf(1), Max: math.Inf(-1), HistMin: lo, HistMax: hi, Histogram: make([]int64, s.bins)}
		if err := accumulate(cs, col); err != nil {
			return err
		}
		partial[n] = cs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.scenes[c.Meta.Scene]
	if !ok {
		sc = &SceneStats{Scene: c.Meta.Scene, Width: c.Meta.GridW, Height: c.Meta.GridH, CRS: c.Meta.CRS, Columns: map[string]*ColumnStats{}}
		s.scenes[c.Meta.Scene] = sc
	}
	sc.Chunks++
	for n, p := range partial {
		t, ok := sc.Columns[n]
		if !ok {
			sc.Columns[n] = p
			continue
		}
		t.Count += p.Count
		t.Nodata += p.Nodata
		t.sum += p.sum
		t.Min = math.Min(t.Min, p.Min)
		t.Max = math.Max(t.Max, p.Max)
		for i, h := range p.Histogram {
			t.Histogram[i] += h
		}
	}
	return nil
}

func accumulate(cs *ColumnStats, col chunk.Col) error {
	switch col.DType {
	case tiff.Uint8:
		accumulateT(cs, col.Data, col.Nodata)
	case tiff.Int8:
		accumulateT(cs, chunk.Slice[int8](col.Data), col.Nodata)
	case tiff.Uint16:
		accumulateT(cs, chunk.Slice[uint16](col.Data), col.Nodata)
	case tiff.Int16:
		accumulateT(cs, chunk.Slice[int16](col.Data), col.Nodata)
	case tiff.Uint32:
		accumulateT(cs, chunk.Slice[uint32](col.Data), col.Nodata)
	case tiff.Int32:
		accumulateT(cs, chunk.Slice[int32](col.Data), col.Nodata)
	case tiff.Float32:
		accumulateT(cs, chunk.Slice[float32](col.Data), col.Nodata)
	case tiff.Float64:
		accumulateT(cs, chunk.Slice[float64](col.Data), col.Nodata)
	default:
		return fmt.Errorf("stats: column %s has unsupported type %v", col.Name, col.DType)
	}
	return nil
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

func accumulateT[T number](cs *ColumnStats, vals []T, nodata *float64) {
	bins := len(cs.Histogram)
	width := (cs.HistMax - cs.HistMin) / float64(bins)
	for _, v := range vals {
		f := float64(v)
		if f != f || (nodata != nil && f == *nodata) {
			cs.Nodata++
			continue
		}
		cs.Count++
		cs.sum += f
		if f < cs.Min {
			cs.Min = f
		}
		if f > cs.Max {
			cs.Max = f
		}
		if f >= cs.HistMin && f < cs.HistMax {
			b := int((f - cs.HistMin) / width)
			cs.Histogram[min(b, bins-1)]++
		}
	}
}

func (s *statsSink) finalize(names []string) []*SceneStats {
	var out []*SceneStats
	for _, n := range names {
		sc := s.scenes[n]
		for _, cs := range sc.Columns {
			if cs.Count > 0 {
				cs.Mean = cs.sum / float64(cs.Count)
			} else {
				cs.Min, cs.Max = 0, 0
			}
		}
		out = append(out, sc)
	}
	return out
}

func (s *statsSink) EndScene(ctx context.Context, scene string, _ op.Emit) error {
	if !strings.Contains(s.out, "{scene}") {
		return nil
	}
	s.mu.Lock()
	if _, ok := s.scenes[scene]; !ok {
		s.mu.Unlock()
		return nil
	}
	res := s.finalize([]string{scene})[0]
	delete(s.scenes, scene)
	s.mu.Unlock()
	path, err := scenePath(s.out, scene)
	if err != nil {
		return err
	}
	return writeJSON(path, res)
}

func (s *statsSink) AbortScene(scene string) {
	s.mu.Lock()
	delete(s.scenes, scene)
	s.mu.Unlock()
}

func (s *statsSink) Finish(ctx context.Context, _ op.Emit) error {
	if strings.Contains(s.out, "{scene}") {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.scenes))
	for n := range s.scenes {
		names = append(names, n)
	}
	sort.Strings(names)
	return writeJSON(s.out, s.finalize(names))
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

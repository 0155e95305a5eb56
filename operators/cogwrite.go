package operators

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

var cogWriteSpec = &op.Spec{
	Name: "cog.write",
	Kind: op.Sink,
	Doc: "Writes each scene's chunks as one Cloud Optimized GeoTIFF (one band per column), streaming tiles as chunks arrive " +
		"in any order; the file appears (by rename) only when the scene is complete.",
	Fields: []op.Field{
		{Name: "out", Type: op.String, Required: true, Doc: "output path; {scene} is replaced by the scene id (reduced to a safe file name)"},
		{Name: "columns", Type: op.Strings, Required: true, Doc: "columns to write as bands, in order (one data type)"},
		{Name: "compress", Type: op.String, Default: "deflate", Enum: []string{"deflate", "zstd", "lzw", "none"}, Doc: "compression"},
		{Name: "blocksize", Type: op.Int, Default: 512, Min: op.Bound(16), Max: op.Bound(4096), Doc: "tile size"},
		{Name: "overviews", Type: op.Int, Default: -1, Min: op.Bound(-1), Max: op.Bound(30), Doc: "overview levels (-1: until one tile)"},
		{Name: "resampling", Type: op.String, Default: "nearest", Enum: []string{"nearest", "average"}, Doc: "overview resampling: nearest for classes, average for continuous data"},
		{Name: "colormap", Type: op.String, Default: "none", Enum: []string{"none", "worldcover"}, Doc: "palette for single-band uint8 class maps"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		if err := checkOutPath(cfg.String("out")); err != nil {
			return s, &op.SettingError{Setting: "out", Err: err}
		}
		cols := cfg.Strings("columns")
		if err := s.Require(cols...); err != nil {
			return s, &op.SettingError{Setting: "columns", Err: err}
		}
		var dt tiff.DType
		for i, n := range cols {
			c, _ := s.Lookup(n)
			if i > 0 && c.DType != dt {
				return s, op.Errorf("columns", "columns have different types (%s is %v, %s is %v); a GeoTIFF has one", cols[0], dt, n, c.DType)
			}
			dt = c.DType
		}
		return op.Schema{}, nil
	},
	Needs: func(cfg *op.Config) []string { return cfg.Strings("columns") },
	New: func(cfg *op.Config, env op.Env) (any, error) {
		comp := map[string]int{"deflate": tiff.CompressionDeflate, "zstd": tiff.CompressionZSTD, "lzw": tiff.CompressionLZW, "none": tiff.CompressionNone}
		return &cogWrite{out: cfg.String("out"), columns: cfg.Strings("columns"), compress: comp[cfg.String("compress")],
			block: cfg.Int("blocksize"), overviews: cfg.Int("overviews"), resampling: cfg.String("resampling"),
			colormap: cfg.String("colormap"), open: map[string]*sceneWriter{}, log: env.Log}, nil
	},
}

type cogWrite struct {
	out                        string
	columns                    []string
	compress, block, overviews int
	resampling, colormap       string
	log                        func(string, ...any)

	mu   sync.Mutex
	open map[string]*sceneWriter
}

type sceneWriter struct {
	once sync.Once
	w    *tiff.COGWriter
	path string
	err  error
}

// writer returns the scene's writer, creating it from the first chunk.
func (o *cogWrite) writer(c *chunk.Chunk) (*sceneWriter, error) {
	o.mu.Lock()
	sw, ok := o.open[c.Meta.Scene]
	if !ok {
		sw = &sceneWriter{}
		o.open[c.Meta.Scene] = sw
	}
	o.mu.Unlock()
	sw.once.Do(func() { sw.w, sw.path, sw.err = o.create(c) })
	return sw, sw.err
}

func (o *cogWrite) create(c *chunk.Chunk) (*tiff.COGWriter, string, error) {
	path, err := scenePath(o.out, c.Meta.Scene)
	if err != nil {
		return nil, "", err
	}
	first, err := c.Column(o.columns[0])
	if err != nil {
		return nil, "", err
	}
	g, err := gridOf(c.Meta)
	if err != nil {
		return nil, "", err
	}
	opt := tiff.WriteOptions{
		Width: c.Meta.GridW, Height: c.Meta.GridH, Bands: len(o.columns), DType: first.DType,
		BlockSize: o.block, Compression: o.compress, Overviews: o.overviews, Resampling: o.resampling,
		Geo:    tiff.Georef{Keys: g.CRS.GeoKeys(), Transform: c.Meta.Transform, HasTransform: true},
		Nodata: first.Nodata, BandDescriptions: o.columns,
	}
	if o.colormap == "worldcover" {
		opt.ColorMap = WorldCoverColorMap()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", err
	}
	w, err := tiff.CreateCOG(path, opt)
	if err != nil {
		return nil, "", err
	}
	return w, path, nil
}

func (o *cogWrite) Process(ctx context.Context, c *chunk.Chunk, _ op.Emit) error {
	sw, err := o.writer(c)
	if err != nil {
		return fmt.Errorf("cog.write: %w", err)
	}
	bands := make([][]byte, len(o.columns))
	for i, n := range o.columns {
		col, err := c.Column(n)
		if err != nil {
			return err
		}
		bands[i] = col.Data
	}
	w := c.Meta.Window
	if err := sw.w.WriteWindow(w.X, w.Y, w.W, w.H, bands); err != nil {
		return fmt.Errorf("cog.write %s: %w", sw.path, err)
	}
	return nil
}

func (o *cogWrite) take(scene string) *sceneWriter {
	o.mu.Lock()
	defer o.mu.Unlock()
	sw := o.open[scene]
	delete(o.open, scene)
	return sw
}

func (o *cogWrite) EndScene(ctx context.Context, scene string, _ op.Emit) error {
	sw := o.take(scene)
	if sw == nil || sw.w == nil {
		return nil
	}
	if err := sw.w.Close(); err != nil {
		return fmt.Errorf("cog.write %s: %w", sw.path, err)
	}
	o.log("wrote %s", sw.path)
	return nil
}

func (o *cogWrite) AbortScene(scene string) {
	if sw := o.take(scene); sw != nil && sw.w != nil {
		sw.w.Abort()
	}
}

func (o *cogWrite) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for s, sw := range o.open {
		if sw.w != nil {
			sw.w.Abort()
		}
		delete(o.open, s)
	}
	return nil
}

// worldCover lists ESA WorldCover classes with their official colours.
var worldCover = []struct {
	Code    uint8
	Name    string
	R, G, B uint8
}{
	{10, "tree cover", 0, 100, 0},
	{20, "shrubland", 255, 187, 34},
	{30, "grassland", 255, 255, 76},
	{40, "cropland", 240, 150, 255},
	{50, "built-up", 250, 0, 0},
	{60, "bare / sparse vegetation", 180, 180, 180},
	{70, "snow and ice", 240, 240, 240},
	{80, "permanent water bodies", 0, 100, 200},
	{90, "herbaceous wetland", 0, 150, 160},
	{95, "mangroves", 0, 207, 117},
	{100, "moss and lichen", 250, 230, 160},
}

// WorldCoverColorMap is the WorldCover palette as a 256-entry TIFF colour map.
func WorldCoverColorMap() [][3]uint16 {
	cm := make([][3]uint16, 256)
	for _, c := range worldCover {
		cm[c.Code] = [3]uint16{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257}
	}
	return cm
}

// WorldCoverName names a WorldCover class code.
func WorldCoverName(code uint8) string {
	for _, c := range worldCover {
		if c.Code == code {
			return c.Name
		}
	}
	return strings.TrimSpace(fmt.Sprintf("class %d", code))
}

package scene

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/rasterflow/rasterflow/blob"
	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/geo"
	"github.com/rasterflow/rasterflow/tiff"
)

// Band names one raster of a scene.
type Band struct {
	// Name is the column name (B02, label, ...).
	Name string
	// URI is a local path, http(s) URL or s3:// object.
	URI string
	// Resampling onto the reference grid when the band is not on it.
	Resampling geo.Method
}

// Options configure opening.
type Options struct {
	// Grid names the band whose grid is the reference; "" means the first.
	Grid string
	// Blob configures remote access.
	Blob blob.Options
}

// Scene is an opened scene.
type Scene struct {
	ID    string
	Grid  geo.Grid
	bands []*band
}

type band struct {
	Band
	file   *tiff.File
	im     *tiff.Image
	grid   geo.Grid
	same   bool // on the reference grid
	warper *geo.Warper
}

// Column describes one band as a column.
type Column struct {
	Name   string
	DType  tiff.DType
	Nodata *float64
}

// ParseMethod parses a resampling method name.
func ParseMethod(s string) (geo.Method, error) {
	switch strings.ToLower(s) {
	case "", "nearest", "near":
		return geo.Nearest, nil
	case "bilinear":
		return geo.Bilinear, nil
	case "average":
		return geo.Average, nil
	case "mode":
		return geo.Mode, nil
	}
	return 0, fmt.Errorf("scene: unknown resampling %q (want nearest, bilinear, average or mode)", s)
}

// OpenRaster opens one raster and returns its first image and grid.
func OpenRaster(ctx context.Context, uri string, opt blob.Options) (*tiff.File, *tiff.Image, geo.Grid, error) {
	src, err := blob.Open(ctx, uri, opt)
	if err != nil {
		return nil, nil, geo.Grid{}, err
	}
	f, err := tiff.Open(src)
	if err != nil {
		src.Close()
		return nil, nil, geo.Grid{}, fmt.Errorf("%s: %w", uri, err)
	}
	im := f.Images[0]
	if !im.Geo.HasTransform {
		f.Close()
		return nil, nil, geo.Grid{}, fmt.Errorf("scene: %s has no georeferencing", uri)
	}
	crs, err := geo.FromGeoKeys(im.Geo.Keys)
	if err != nil {
		f.Close()
		return nil, nil, geo.Grid{}, fmt.Errorf("scene: %s: %w", uri, err)
	}
	return f, im, geo.Grid{CRS: crs, Width: im.Width, Height: im.Height, Transform: im.Geo.Transform}, nil
}

// Open opens every band of a scene. Each band must be a single-band raster
// (the first band of a multi-band file is used).
func Open(ctx context.Context, id string, bands []Band, opt Options) (*Scene, error) {
	s := &Scene{ID: id}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	for _, b := range bands {
		f, im, g, err := OpenRaster(ctx, b.URI, opt.Blob)
		if err != nil {
			return nil, fmt.Errorf("scene %s, band %s: %w", id, b.Name, err)
		}
		s.bands = append(s.bands, &band{Band: b, file: f, im: im, grid: g})
	}
	if len(s.bands) == 0 {
		return nil, fmt.Errorf("scene %s: no bands", id)
	}
	ref := s.bands[0]
	if opt.Grid != "" {
		ref = nil
		for _, b := range s.bands {
			if b.Name == opt.Grid {
				ref = b
			}
		}
		if ref == nil {
			return nil, fmt.Errorf("scene %s: grid band %q is not among the bands", id, opt.Grid)
		}
	}
	s.Grid = ref.grid
	for _, b := range s.bands {
		b.same = sameGrid(b.grid, s.Grid)
		if !b.same {
			w, err := geo.NewWarper(s.Grid, b.grid)
			if err != nil {
				return nil, fmt.Errorf("scene %s, band %s: %w", id, b.Name, err)
			}
			b.warper = w
		}
	}
	ok = true
	return s, nil
}

func sameGrid(a, b geo.Grid) bool {
	if a.Width != b.Width || a.Height != b.Height || !a.CRS.Equal(b.CRS) {
		return false
	}
	for i := range a.Transform {
		if math.Abs(a.Transform[i]-b.Transform[i]) > 1e-9*math.Max(1, math.Abs(a.Transform[i])) {
			return false
		}
	}
	return true
}

// Columns describes the bands as columns, in order.
func (s *Scene) Columns() []Column {
	out := make([]Column, len(s.bands))
	for i, b := range s.bands {
		out[i] = Column{Name: b.Name, DType: b.im.DType, Nodata: b.im.Nodata}
	}
	return out
}

// Read reads a window of the reference grid for every band.
func (s *Scene) Read(ctx context.Context, win chunk.Window) ([]chunk.Col, error) {
	cols := make([]chunk.Col, len(s.bands))
	for i, b := range s.bands {
		data, err := b.read(ctx, s.Grid, win)
		if err != nil {
			return nil, fmt.Errorf("scene %s, band %s (%s), window %v: %w", s.ID, b.Name, b.URI, win, err)
		}
		cols[i] = chunk.Col{Name: b.Name, DType: b.im.DType, Nodata: b.im.Nodata, Data: data}
	}
	return cols, nil
}

func (b *band) read(ctx context.Context, ref geo.Grid, win chunk.Window) ([]byte, error) {
	if b.same {
		px, err := b.im.ReadWindow(ctx, win.X, win.Y, win.W, win.H, []int{0})
		if err != nil {
			return nil, err
		}
		return px[0], nil
	}
	dwin := geo.Window{X: win.X, Y: win.Y, W: win.W, H: win.H}
	dt := b.im.DType
	out := make([]byte, win.W*win.H*dt.Size())
	srcWin, ok := geo.SourceWindow(ref, dwin, b.grid, 2)
	if !ok {
		tiff.Fill(out, dt, b.im.Nodata)
		return out, nil
	}
	nodata := 0.0
	if b.im.Nodata != nil {
		nodata = *b.im.Nodata
	}
	px, err := b.im.ReadWindow(ctx, srcWin.X, srcWin.Y, srcWin.W, srcWin.H, []int{0})
	if err != nil {
		return nil, err
	}
	src, dst := typed(px[0], dt), typed(out, dt)
	if src == nil {
		return nil, fmt.Errorf("scene: cannot resample %v", dt)
	}
	if err := b.warper.Resample(dwin, srcWin, src, b.Resampling, b.im.Nodata, dst, nodata); err != nil {
		return nil, err
	}
	return out, nil
}

// typed views little-endian pixel bytes as a typed slice.
func typed(b []byte, dt tiff.DType) any {
	switch dt {
	case tiff.Uint8:
		return b
	case tiff.Int8:
		return tiff.AsInt8(b)
	case tiff.Uint16:
		return tiff.AsUint16(b)
	case tiff.Int16:
		return tiff.AsInt16(b)
	case tiff.Uint32:
		return tiff.AsUint32(b)
	case tiff.Int32:
		return tiff.AsInt32(b)
	case tiff.Float32:
		return tiff.AsFloat32(b)
	case tiff.Float64:
		return tiff.AsFloat64(b)
	}
	return nil
}

// Close closes every band.
func (s *Scene) Close() error {
	var first error
	for _, b := range s.bands {
		if err := b.file.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.bands = nil
	return first
}

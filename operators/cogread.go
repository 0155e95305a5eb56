package operators

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/geo"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/scene"
	"github.com/rasterflow/rasterflow/synth"
	"github.com/rasterflow/rasterflow/tiff"
)

var cogReadSpec = &op.Spec{
	Name: "cog.read",
	Kind: op.Source,
	Doc: "Reads scenes of single-band GeoTIFF/COG files (local folders, http(s):// or s3:// prefixes) as chunks, one column per band. " +
		"Bands not on the reference grid (other resolution or CRS) are resampled or reprojected onto it window by window.",
	Fields: append([]op.Field{
		{Name: "scenes", Type: op.Strings, Required: true, Doc: "scene folders or URL prefixes; each is one scene, named by its last path element"},
		filesField,
	}, readFields...),
	Flow: func(cfg *op.Config, _ []op.Schema) (op.Schema, error) {
		r, err := newCOGRead(cfg)
		if err != nil {
			return op.Schema{}, err
		}
		return r.schema(r.probeColumns()), nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) {
		r, err := newCOGRead(cfg)
		if err != nil {
			return nil, err
		}
		r.failed = env.SceneFailed
		return r, nil
	},
}

type cogRead struct {
	sceneReader
	scenes []string
	files  map[string]string
}

// filesField is the file-name-per-band setting of folder sources.
var filesField = op.Field{Name: "files", Type: op.Map, Doc: "file name (or full URI) per band; default BAND.tif in the scene folder"}

func newCOGRead(cfg *op.Config) (*cogRead, error) {
	rd, err := newSceneReader(cfg)
	if err != nil {
		return nil, err
	}
	r := &cogRead{sceneReader: rd, scenes: cfg.Strings("scenes"), files: cfg.Map("files")}
	if len(r.scenes) == 0 {
		return nil, op.Errorf("scenes", "no scenes given")
	}
	if err := checkBandKeys(cfg, "files"); err != nil {
		return nil, err
	}
	return r, nil
}

// SceneName is the id of a scene read from a folder or URL prefix.
func SceneName(dir string) string {
	return path.Base(strings.TrimRight(filepath.ToSlash(dir), "/"))
}

// bandURIs resolves each band's file within a scene.
func (r *cogRead) bandURIs(dir string) []scene.Band {
	out := make([]scene.Band, len(r.bands))
	for i, b := range r.bands {
		b.URI = folderHref(dir, b.Name, r.files[b.Name])
		out[i] = b
	}
	return out
}

// probeColumns learns column types from the first scene when it is a local
// folder that exists; otherwise it assumes uint16 bands and uint8 labels.
func (r *cogRead) probeColumns() map[string]tiff.DType {
	out := defaultDTypes(r.bands)
	if strings.Contains(r.scenes[0], "://") {
		return out
	}
	// Relative paths are probed from the working directory, as the run
	// will open them.
	for _, b := range r.bandURIs(r.scenes[0]) {
		f, err := tiff.OpenFile(b.URI)
		if err != nil {
			continue
		}
		out[b.Name] = f.Images[0].DType
		f.Close()
	}
	return out
}

func (r *cogRead) Run(ctx context.Context, emit op.Emit) error {
	for _, dir := range r.scenes {
		if err := r.readScene(ctx, dir, emit); err != nil {
			return err
		}
	}
	return nil
}

func (r *cogRead) readScene(ctx context.Context, dir string, emit op.Emit) error {
	if strings.HasPrefix(dir, synthScheme) {
		return r.readSynth(ctx, dir, emit)
	}
	return r.read(ctx, SceneName(dir), r.bandURIs(dir), map[string]string{"source": dir}, emit)
}

// gridOf rebuilds a chunk's scene grid.
func gridOf(m chunk.Meta) (geo.Grid, error) {
	crs, err := geo.Parse(m.CRS)
	if err != nil {
		return geo.Grid{}, fmt.Errorf("scene %s: CRS %q: %w", m.Scene, m.CRS, err)
	}
	return geo.Grid{CRS: crs, Width: m.GridW, Height: m.GridH, Transform: m.Transform}, nil
}

// synthScheme names a synthetic scene instead of a folder:
// synth://SIZE/SEED reads the scene `rasterflow synth --size SIZE --seed
// SEED` would write, generated window by window without files.
const synthScheme = "synth://"

func parseSynthURI(uri string) (size int, seed uint64, err error) {
	rest := strings.TrimPrefix(uri, synthScheme)
	a, b, _ := strings.Cut(rest, "/")
	if b == "" {
		b = "1"
	}
	if _, err := fmt.Sscan(a, &size); err != nil || size < 1 || size > 1<<20 {
		return 0, 0, fmt.Errorf("cog.read: bad synthetic scene %q: want synth://SIZE/SEED", uri)
	}
	if _, err := fmt.Sscan(b, &seed); err != nil {
		return 0, 0, fmt.Errorf("cog.read: bad synthetic scene %q: want synth://SIZE/SEED", uri)
	}
	return size, seed, nil
}

func (r *cogRead) readSynth(ctx context.Context, uri string, emit op.Emit) error {
	size, seed, err := parseSynthURI(uri)
	if err != nil {
		return err
	}
	sc := synth.Scene{Size: size, Seed: seed}
	crs, gt := sc.Grid()
	zero := 0.0
	for _, b := range r.bands {
		if b.Name != "label" && indexOf(synth.Bands, b.Name) < 0 {
			return fmt.Errorf("cog.read: synthetic scene %s has no band %s (it has %s and label)", uri, b.Name, strings.Join(synth.Bands, ","))
		}
	}
	id := fmt.Sprintf("synth-%d-%d", size, seed)
	wins := Tiles(size, size, r.chunk)
	return parallel(ctx, len(wins), func(i int) error {
		w := wins[i]
		px := sc.Render(w.X, w.Y, w.W, w.H)
		cols := make([]chunk.Col, len(r.bands))
		for k, b := range r.bands {
			if b.Name == "label" {
				cols[k] = chunk.Col{Name: "label", DType: tiff.Uint8, Nodata: &zero, Data: px.Label}
				continue
			}
			cols[k] = chunk.Col{Name: b.Name, DType: tiff.Uint16, Nodata: &zero, Data: chunk.Bytes(px.Bands[indexOf(synth.Bands, b.Name)])}
		}
		c, err := chunk.New(chunk.Meta{Scene: id, Window: w, GridW: size, GridH: size, CRS: crs, Transform: gt, Index: i, Total: len(wins),
			Attrs: map[string]string{"source": uri}}, cols)
		if err != nil {
			return err
		}
		return emit(ctx, c)
	})
}

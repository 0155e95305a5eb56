package operators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rasterflow/rasterflow/blob"
	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/scene"
	"github.com/rasterflow/rasterflow/tiff"
)

// Scene sources (cog.read, stac.search, stac.poll, watch, nats) find
// scenes in different ways but read them alike: each scene is a set of
// single-band rasters, one per band, aligned onto the grid of one of them
// and emitted as chunks. sceneReader is that shared part.

// readFields are the settings every scene source has for reading.
var readFields = []op.Field{
	{Name: "bands", Type: op.Strings, Default: []string{"B02", "B03", "B04", "B08"}, Doc: "bands to read, as columns"},
	{Name: "grid", Type: op.String, Doc: "band whose grid all others are aligned to (default: the first)"},
	{Name: "resampling", Type: op.Map, Doc: "resampling per band onto the grid: nearest (default), bilinear, average, mode; entries for bands not read are ignored"},
	{Name: "chunk", Type: op.Int, Default: 512, Min: op.Bound(16), Max: op.Bound(1 << 15), Doc: "chunk width and height in pixels"},
}

// sceneReader reads scenes as aligned chunks.
type sceneReader struct {
	// failed reports a scene that cannot be read (see op.Env.SceneFailed);
	// nil: the error stops the source.
	failed func(scene string, err error)
	bands  []scene.Band
	grid   string
	chunk  int
	// blob configures remote reads; its zero value is usable.
	blob blob.Options
}

// sceneRef is a discovered scene: an id and where each band is.
type sceneRef struct {
	ID string
	// Hrefs maps a band name to a local path, http(s) URL or s3:// object.
	Hrefs map[string]string
	// Attrs go into every chunk's Meta.Attrs.
	Attrs map[string]string
}

func newSceneReader(cfg *op.Config) (sceneReader, error) {
	r := sceneReader{grid: cfg.String("grid"), chunk: cfg.Int("chunk")}
	res := cfg.Map("resampling")
	names := cfg.Strings("bands")
	for _, name := range names {
		m, err := scene.ParseMethod(res[name])
		if err != nil {
			return r, op.Errorf("resampling", "%s: %v", name, err)
		}
		r.bands = append(r.bands, scene.Band{Name: name, Resampling: m})
	}
	if len(r.bands) == 0 {
		return r, op.Errorf("bands", "no bands given")
	}
	if r.grid != "" && indexOf(names, r.grid) < 0 {
		return r, op.Errorf("grid", "band %q is not among the bands", r.grid)
	}
	return r, nil
}

// checkBandKeys checks that every key of a per-band map setting names a
// band being read.
func checkBandKeys(cfg *op.Config, setting string) error {
	bands := cfg.Strings("bands")
	for k := range cfg.Map(setting) {
		if indexOf(bands, k) < 0 {
			return op.Errorf(setting, "band %q is not among the bands", k)
		}
	}
	return nil
}

// defaultDTypes is what a band's column type is assumed to be when no file
// can be probed: uint16 reflectances, uint8 labels and SCL classes.
func defaultDTypes(bands []scene.Band) map[string]tiff.DType {
	out := map[string]tiff.DType{}
	for _, b := range bands {
		out[b.Name] = tiff.Uint16
		if strings.EqualFold(b.Name, "label") || b.Name == "SCL" {
			out[b.Name] = tiff.Uint8
		}
	}
	return out
}

// schema is the output schema given the column types.
func (r *sceneReader) schema(types map[string]tiff.DType) op.Schema {
	s := op.Schema{ChunkPixels: r.chunk * r.chunk}
	for _, b := range r.bands {
		s.Columns = append(s.Columns, op.Column{Name: b.Name, DType: types[b.Name]})
	}
	return s
}

// folderHref is where a band lies in a scene folder or URL prefix: name
// (default BAND.tif) inside dir, unless name is absolute or a URI.
func folderHref(dir, band, name string) string {
	if name == "" {
		name = band + ".tif"
	}
	if strings.Contains(name, "://") || filepath.IsAbs(name) {
		return name
	}
	if strings.Contains(dir, "://") {
		return strings.TrimRight(dir, "/") + "/" + name
	}
	return filepath.Join(dir, name)
}

// folderScene is the scene in a folder or URL prefix, named after it.
func (r *sceneReader) folderScene(dir string, files map[string]string) sceneRef {
	ref := sceneRef{ID: SceneName(dir), Hrefs: map[string]string{}, Attrs: map[string]string{"source": dir}}
	for _, b := range r.bands {
		ref.Hrefs[b.Name] = folderHref(dir, b.Name, files[b.Name])
	}
	return ref
}

// readRef reads a discovered scene.
func (r *sceneReader) readRef(ctx context.Context, ref sceneRef, emit op.Emit) error {
	bands := make([]scene.Band, len(r.bands))
	for i, b := range r.bands {
		href := ref.Hrefs[b.Name]
		if href == "" {
			err := fmt.Errorf("scene %s, band %s: no file for the band", ref.ID, b.Name)
			if r.failed != nil {
				r.failed(ref.ID, err)
				return nil
			}
			return err
		}
		b.URI = href
		bands[i] = b
	}
	return r.read(ctx, ref.ID, bands, ref.Attrs, emit)
}

// read opens a scene's bands (URIs set), aligns them and emits its chunks
// in parallel. Errors name the scene, the band and its URI. A scene that
// cannot be read goes to r.failed when set, and reading goes on; errors of
// emit (the run stopping, the transport) always stop the source.
func (r *sceneReader) read(ctx context.Context, id string, bands []scene.Band, attrs map[string]string, emit op.Emit) error {
	var emitFailed atomic.Bool
	err := r.readScene(ctx, id, bands, attrs, func(ctx context.Context, c *chunk.Chunk) error {
		err := emit(ctx, c)
		if err != nil {
			emitFailed.Store(true)
		}
		return err
	})
	if err == nil || r.failed == nil || emitFailed.Load() || ctx.Err() != nil {
		return err
	}
	r.failed(id, err)
	return nil
}

func (r *sceneReader) readScene(ctx context.Context, id string, bands []scene.Band, attrs map[string]string, emit op.Emit) error {
	sc, err := scene.Open(ctx, id, bands, scene.Options{Grid: r.grid, Blob: r.blob})
	if err != nil {
		return err
	}
	defer sc.Close()
	g := sc.Grid
	wins := Tiles(g.Width, g.Height, r.chunk)
	return parallel(ctx, len(wins), func(i int) error {
		cols, err := sc.Read(ctx, wins[i])
		if err != nil {
			return err
		}
		c, err := chunk.New(chunk.Meta{Scene: id, Window: wins[i], GridW: g.Width, GridH: g.Height, CRS: g.CRS.String(), Transform: g.Transform,
			Index: i, Total: len(wins), Attrs: attrs}, cols)
		if err != nil {
			return err
		}
		return emit(ctx, c)
	})
}

// seenSet remembers the scenes a continuous source has read, so that each
// is read once; with a state file it survives a restart. Each id keeps a
// time (the scene's acquisition time, or "" when unknown), so that old
// entries can be dropped once they can no longer be discovered again.
type seenSet struct {
	path string
	mu   sync.Mutex
	st   seenState
}

type seenState struct {
	Version int               `json:"version"`
	Seen    map[string]string `json:"seen"`
}

const seenVersion = 1

// loadSeen reads the state file at path ("" keeps the set in memory only).
// A missing file is an empty set.
func loadSeen(path string) (*seenSet, error) {
	s := &seenSet{path: path, st: seenState{Version: seenVersion, Seen: map[string]string{}}}
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	var st seenState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.Version != seenVersion {
		return nil, fmt.Errorf("state file %s: version %d, want %d", path, st.Version, seenVersion)
	}
	if st.Seen != nil {
		s.st.Seen = st.Seen
	}
	return s, nil
}

func (s *seenSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.st.Seen[id]
	return ok
}

// add records a scene as read and saves the state file.
func (s *seenSet) add(id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := ""
	if !at.IsZero() {
		v = at.UTC().Format(time.RFC3339Nano)
	}
	s.st.Seen[id] = v
	return s.saveLocked()
}

// latest is the latest time recorded (zero when none).
func (s *seenSet) latest() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out time.Time
	for _, v := range s.st.Seen {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.After(out) {
			out = t
		}
	}
	return out
}

// prune forgets scenes with a time before t (those without a time stay).
func (s *seenSet) prune(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, v := range s.st.Seen {
		if at, err := time.Parse(time.RFC3339Nano, v); err == nil && at.Before(t) {
			delete(s.st.Seen, id)
		}
	}
}

func (s *seenSet) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.st.Seen))
	for id := range s.st.Seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (s *seenSet) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(s.st, "", " ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, append(data, '\n')); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// sleepCtx waits d or until ctx ends, and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// stateField is the optional state file setting of continuous sources.
var stateField = op.Field{Name: "state", Type: op.String, Doc: "file remembering the scenes already read (JSON, written atomically after each scene), so a restart does not read them again; empty: remember in memory only"}

package operators

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rasterflow/rasterflow/op"
)

var watchSpec = &op.Spec{
	Name: "watch",
	Kind: op.Source,
	Doc: "Watches a folder for scene folders (each subfolder is a scene laid out as for cog.read) and reads each once it is complete: " +
		"when its marker file exists, or, without a marker, when all its band files exist and kept their sizes for `settle`. " +
		"Polls every `interval`; runs until the run is stopped, or with once: true reads what is complete and ends.",
	Fields: append([]op.Field{
		{Name: "dir", Type: op.String, Required: true, Doc: "folder whose subfolders are scenes"},
		{Name: "marker", Type: op.String, Default: "_READY", Doc: "file whose presence in a scene folder says the scene is complete (write it last); empty: wait until the band files' sizes are stable"},
		{Name: "settle", Type: op.Duration, Default: 10 * time.Second, Doc: "without a marker: how long the band files must keep their sizes"},
		{Name: "interval", Type: op.Duration, Default: 2 * time.Second, Doc: "time between scans of the folder"},
		{Name: "once", Type: op.Bool, Doc: "read the scenes complete now (waiting for sizes to settle) and end, instead of watching"},
		stateField,
		filesField,
	}, readFields...),
	Flow: func(cfg *op.Config, _ []op.Schema) (op.Schema, error) {
		w, err := newWatch(cfg, op.Env{})
		if err != nil {
			return op.Schema{}, err
		}
		return w.schema(defaultDTypes(w.bands)), nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) { return newWatch(cfg, env) },
}

type watchSrc struct {
	sceneReader
	dir       string
	marker    string
	settle    time.Duration
	interval  time.Duration
	once      bool
	files     map[string]string
	statePath string
	now       func() time.Time
	log       func(string, ...any)
	// stable tracks, without a marker, each candidate scene's band files
	// and since when they look the same.
	stable map[string]*settling
}

type settling struct {
	files []fileState
	since time.Time
}

type fileState struct {
	size int64
	mod  time.Time
}

func newWatch(cfg *op.Config, env op.Env) (*watchSrc, error) {
	rd, err := newSceneReader(cfg)
	if err != nil {
		return nil, err
	}
	rd.failed = env.SceneFailed
	w := &watchSrc{sceneReader: rd, dir: cfg.String("dir"), marker: cfg.String("marker"), settle: cfg.Duration("settle"),
		interval: cfg.Duration("interval"), once: cfg.Bool("once"), files: cfg.Map("files"), statePath: cfg.String("state"),
		now: env.Now, log: env.Log, stable: map[string]*settling{}}
	if w.dir == "" {
		return nil, op.Errorf("dir", "no folder given")
	}
	if w.marker != "" && (strings.ContainsAny(w.marker, `/\`) || w.marker == "." || w.marker == "..") {
		return nil, op.Errorf("marker", "want a file name, got %q", w.marker)
	}
	if w.interval <= 0 {
		return nil, op.Errorf("interval", "must be positive")
	}
	if w.settle < 0 {
		return nil, op.Errorf("settle", "must not be negative")
	}
	if err := checkBandKeys(cfg, "files"); err != nil {
		return nil, err
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = func(string, ...any) {}
	}
	return w, nil
}

// scan lists the scene folders not read yet that are complete, and how
// many others are still settling.
func (w *watchSrc) scan(seen *seenSet) (ready []sceneRef, settlingN int, err error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, 0, fmt.Errorf("watch: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	now := w.now()
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || seen.has(name) {
			continue
		}
		dir := filepath.Join(w.dir, name)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		ref := w.folderScene(dir, w.files)
		if w.marker != "" {
			if _, err := os.Stat(filepath.Join(dir, w.marker)); err == nil {
				ready = append(ready, ref)
			} else if w.once {
				w.log("watch: %s has no %s yet; not read", dir, w.marker)
			}
			continue
		}
		files, ok := w.bandFiles(ref)
		if !ok {
			delete(w.stable, name)
			if w.once {
				w.log("watch: %s lacks band files; not read", dir)
			}
			continue
		}
		s := w.stable[name]
		if s == nil || !sameFiles(s.files, files) {
			w.stable[name] = &settling{files: files, since: now}
			settlingN++
			continue
		}
		if now.Sub(s.since) < w.settle {
			settlingN++
			continue
		}
		ready = append(ready, ref)
	}
	return ready, settlingN, nil
}

// bandFiles stats a scene's band files; ok is false while one is missing.
func (w *watchSrc) bandFiles(ref sceneRef) ([]fileState, bool) {
	out := make([]fileState, 0, len(w.bands))
	for _, b := range w.bands {
		st, err := os.Stat(ref.Hrefs[b.Name])
		if err != nil || !st.Mode().IsRegular() {
			return nil, false
		}
		out = append(out, fileState{size: st.Size(), mod: st.ModTime()})
	}
	return out, true
}

func sameFiles(a, b []fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].size != b[i].size || !a[i].mod.Equal(b[i].mod) {
			return false
		}
	}
	return true
}

// Run scans until ctx ends (or, with once, until nothing is settling).
func (w *watchSrc) Run(ctx context.Context, emit op.Emit) error {
	seen, err := loadSeen(w.statePath)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if _, err := os.Stat(w.dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("watch: folder %s does not exist", w.dir)
	}
	for {
		ready, settlingN, err := w.scan(seen)
		if err != nil {
			return err
		}
		for _, ref := range ready {
			if err := w.readRef(ctx, ref, emit); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			delete(w.stable, ref.ID)
			if err := seen.add(ref.ID, time.Time{}); err != nil {
				return fmt.Errorf("watch: %w", err)
			}
		}
		if w.once && settlingN == 0 {
			return nil
		}
		if !sleepCtx(ctx, w.interval) {
			return nil
		}
	}
}

package operators

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/op"
)

// watchBands are two small real bands (200 m, 549x549): one chunk a scene.
var watchBands = []string{"B11", "SCL"}

// testClock is a settable clock that counts its readings (the watch reads
// it once per scan, so the count tells how many scans ran).
type testClock struct {
	mu    sync.Mutex
	t     time.Time
	calls int
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.t
}

func (c *testClock) scans() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitScans waits until n more scans have run.
func (c *testClock) waitScans(t *testing.T, n int) {
	t.Helper()
	from := c.scans()
	waitUntil(t, "watch scans", func() bool { return c.scans() >= from+n })
}

func newWatchSource(t *testing.T, clock *testClock, values map[string]any) op.Producer {
	t.Helper()
	base := map[string]any{"bands": watchBands, "interval": time.Millisecond, "chunk": 1024}
	for k, v := range values {
		base[k] = v
	}
	w, err := watchSpec.New(mustSourceConfig(t, watchSpec, base), op.Env{Now: clock.Now, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return w.(op.Producer)
}

func copyBand(t *testing.T, src, dir, band string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, band+".tif"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, band+".tif"), data)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addScene writes a scene folder's bands, then (if marker != "") its marker.
func addScene(t *testing.T, src, root, name, marker string) {
	t.Helper()
	for _, b := range watchBands {
		copyBand(t, src, filepath.Join(root, name), b)
	}
	if marker != "" {
		writeFile(t, filepath.Join(root, name, marker), nil)
	}
}

func TestWatchMarker(t *testing.T) {
	src := realS2(t)
	ref := readFolder(t, src, watchBands, map[string]any{"chunk": 1024})
	defer ref.release()
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "watch-state.json")
	clock := &testClock{t: time.Unix(0, 0)}
	values := map[string]any{"dir": root, "state": state}
	c := newSceneCollector()
	defer c.release()
	run := startSource(newWatchSource(t, clock, values), c.emit)

	// Bands written but no marker yet: not read.
	addScene(t, src, root, "s1", "")
	clock.waitScans(t, 3)
	if got := c.complete(); len(got) != 0 {
		t.Fatalf("read %v before its marker", got)
	}
	writeFile(t, filepath.Join(root, "s1", "_READY"), nil)
	waitUntil(t, "scene s1", func() bool { return len(c.complete()) == 1 })
	addScene(t, src, root, "s2", "_READY")
	waitUntil(t, "scene s2", func() bool { return len(c.complete()) == 2 })
	clock.waitScans(t, 5)
	if err := run.stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if got := c.complete(); !sameStrings(got, []string{"s1", "s2"}) {
		t.Fatalf("scenes %v, want s1, s2", got)
	}
	for _, s := range []string{"s1", "s2"} {
		if n := c.count(s); n != 1 {
			t.Errorf("scene %s: %d chunks, want 1 (read once)", s, n)
		}
		sameScene(t, c, s, ref, "s2-l2a-29rkh")
	}

	// A restart with the state file reads only new scenes.
	c2 := newSceneCollector()
	defer c2.release()
	run = startSource(newWatchSource(t, clock, values), c2.emit)
	clock.waitScans(t, 3)
	addScene(t, src, root, "s3", "_READY")
	waitUntil(t, "scene s3", func() bool { return len(c2.complete()) == 1 })
	clock.waitScans(t, 3)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := c2.complete(); !sameStrings(got, []string{"s3"}) {
		t.Fatalf("after restart read %v, want only s3", got)
	}
}

func TestWatchStableSizes(t *testing.T) {
	src := realS2(t)
	root := t.TempDir()
	clock := &testClock{t: time.Unix(0, 0)}
	c := newSceneCollector()
	defer c.release()
	run := startSource(newWatchSource(t, clock, map[string]any{"dir": root, "marker": "", "settle": time.Minute}), c.emit)

	// One band file, then the other in two writes.
	copyBand(t, src, filepath.Join(root, "s1"), "B11")
	scl, err := os.ReadFile(filepath.Join(src, "SCL.tif"))
	if err != nil {
		t.Fatal(err)
	}
	clock.waitScans(t, 3)
	clock.advance(2 * time.Minute) // a missing band never settles
	clock.waitScans(t, 3)
	writeFile(t, filepath.Join(root, "s1", "SCL.tif"), scl[:len(scl)/2])
	clock.waitScans(t, 3)
	clock.advance(30 * time.Second) // not settled yet
	clock.waitScans(t, 3)
	writeFile(t, filepath.Join(root, "s1", "SCL.tif"), scl) // the size changed: settle again
	clock.waitScans(t, 3)
	clock.advance(59 * time.Second)
	clock.waitScans(t, 3)
	if got := c.complete(); len(got) != 0 {
		t.Fatalf("read %v before its files settled", got)
	}
	clock.advance(time.Second)
	waitUntil(t, "the settled scene", func() bool { return len(c.complete()) == 1 })
	clock.waitScans(t, 3)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if n := c.count("s1"); n != 1 {
		t.Fatalf("scene s1: %d chunks, want 1", n)
	}
	ref := readFolder(t, src, watchBands, map[string]any{"chunk": 1024})
	defer ref.release()
	sameScene(t, c, "s1", ref, "s2-l2a-29rkh")
}

func TestWatchOnce(t *testing.T) {
	src := realS2(t)
	root := t.TempDir()
	addScene(t, src, root, "a", "_READY")
	addScene(t, src, root, "b", "") // incomplete: skipped
	addScene(t, src, root, "c", "_READY")
	c := newSceneCollector()
	defer c.release()
	w := newWatchSource(t, &testClock{}, map[string]any{"dir": root, "once": true})
	if err := w.Run(context.Background(), c.emit); err != nil {
		t.Fatal(err)
	}
	if got := c.complete(); !sameStrings(got, []string{"a", "c"}) {
		t.Fatalf("once read %v, want a, c", got)
	}

	// A scene that cannot be read fails with its scene, band and file.
	bad := t.TempDir()
	addScene(t, src, bad, "broken", "_READY")
	writeFile(t, filepath.Join(bad, "broken", "SCL.tif"), []byte("not a tiff"))
	w = newWatchSource(t, &testClock{}, map[string]any{"dir": bad, "once": true})
	err := w.Run(context.Background(), newSceneCollector().emit)
	if err == nil || !containsAll(err.Error(), "scene broken", "band SCL", filepath.Join(bad, "broken", "SCL.tif")) {
		t.Fatalf("broken scene: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

package operators

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
)

// realS2 is the real Sentinel-2 L2A scene (10x downsampled: 10 m bands at
// 100 m, 1098x1098; 20 m bands at 200 m, 549x549).
func realS2(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "real", "s2-l2a-29rkh")
	if _, err := os.Stat(filepath.Join(dir, "B02.tif")); err != nil {
		t.Skipf("real Sentinel-2 data not available (%v); see /work/shared/data/real/README.md", err)
	}
	return dir
}

// sceneCollector is an emit function that keeps what it is given.
type sceneCollector struct {
	mu     sync.Mutex
	chunks map[string][]*chunk.Chunk // by scene, in arrival order
	order  []string                  // scenes in order of their first chunk
}

func newSceneCollector() *sceneCollector { return &sceneCollector{chunks: map[string][]*chunk.Chunk{}} }

func (c *sceneCollector) emit(_ context.Context, ch *chunk.Chunk) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.chunks[ch.Meta.Scene]; !ok {
		c.order = append(c.order, ch.Meta.Scene)
	}
	c.chunks[ch.Meta.Scene] = append(c.chunks[ch.Meta.Scene], ch)
	return nil
}

// complete lists the scenes of which all Meta.Total chunks arrived.
func (c *sceneCollector) complete() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.order {
		cs := c.chunks[s]
		if len(cs) > 0 && len(cs) >= cs[0].Meta.Total {
			out = append(out, s)
		}
	}
	return out
}

func (c *sceneCollector) count(scene string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.chunks[scene])
}

func (c *sceneCollector) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cs := range c.chunks {
		for _, ch := range cs {
			ch.Release()
		}
	}
}

// byWindow indexes a scene's chunks by window.
func (c *sceneCollector) byWindow(scene string) map[chunk.Window]*chunk.Chunk {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[chunk.Window]*chunk.Chunk{}
	for _, ch := range c.chunks[scene] {
		out[ch.Meta.Window] = ch
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (the deadline is a hang guard, not a timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runningSource is a continuous source running in the background.
type runningSource struct {
	cancel context.CancelFunc
	done   chan error
}

func startSource(p op.Producer, emit op.Emit) *runningSource {
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningSource{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- p.Run(ctx, emit) }()
	return s
}

// stop cancels the source and returns what Run returned.
func (s *runningSource) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("source did not return after cancel")
		return nil
	}
}

func mustSourceConfig(t *testing.T, spec *op.Spec, values map[string]any) *op.Config {
	t.Helper()
	cfg, err := op.NewConfig(spec, values)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Flow(cfg, nil); err != nil {
		t.Fatalf("%s: Flow: %v", spec.Name, err)
	}
	return cfg
}

func newTestProducer(t *testing.T, spec *op.Spec, values map[string]any) op.Producer {
	t.Helper()
	inst, err := spec.New(mustSourceConfig(t, spec, values), op.Env{Log: t.Logf, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, ok := inst.(op.Closer); ok {
			c.Close()
		}
	})
	return inst.(op.Producer)
}

// readFolder reads a scene folder with cog.read, the reference every
// discovery source must match.
func readFolder(t *testing.T, dir string, bands []string, extra map[string]any) *sceneCollector {
	t.Helper()
	values := map[string]any{"scenes": []string{dir}, "bands": bands}
	for k, v := range extra {
		values[k] = v
	}
	c := newSceneCollector()
	if err := newTestProducer(t, cogReadSpec, values).Run(context.Background(), c.emit); err != nil {
		t.Fatal(err)
	}
	return c
}

// sameScene checks that scene got of c has exactly the chunks (windows,
// grid, columns and pixels) that scene want of ref has.
func sameScene(t *testing.T, c *sceneCollector, got string, ref *sceneCollector, want string) {
	t.Helper()
	g, w := c.byWindow(got), ref.byWindow(want)
	if len(g) != len(w) || len(g) == 0 {
		t.Fatalf("scene %s has %d windows, reference %d", got, len(g), len(w))
	}
	for win, rc := range w {
		gc := g[win]
		if gc == nil {
			t.Fatalf("scene %s lacks window %v", got, win)
		}
		if gc.Meta.GridW != rc.Meta.GridW || gc.Meta.GridH != rc.Meta.GridH || gc.Meta.Transform != rc.Meta.Transform || gc.Meta.CRS != rc.Meta.CRS ||
			gc.Meta.Total != rc.Meta.Total {
			t.Fatalf("scene %s window %v: meta %+v, reference %+v", got, win, gc.Meta, rc.Meta)
		}
		names := rc.Names()
		if gn := gc.Names(); !sameStrings(gn, names) {
			t.Fatalf("scene %s: columns %v, reference %v", got, gn, names)
		}
		for _, n := range names {
			a, _ := gc.Column(n)
			b, _ := rc.Column(n)
			if a.DType != b.DType || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("scene %s window %v column %s differs from cog.read", got, win, n)
			}
		}
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestSeenSetStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	s, err := loadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2020, 2, 19, 11, 34, 25, 405e6, time.UTC)
	if err := s.add("a", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.add("b", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.add("c", t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := loadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ids(); !sameStrings(got, []string{"a", "b", "c"}) {
		t.Fatalf("reloaded ids %v", got)
	}
	if !r.latest().Equal(t0.Add(48 * time.Hour)) {
		t.Fatalf("latest %v", r.latest())
	}
	r.prune(t0.Add(time.Hour))
	if got := r.ids(); !sameStrings(got, []string{"b", "c"}) {
		t.Fatalf("after prune: %v (scenes without a time must stay)", got)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSeen(path); err == nil {
		t.Fatal("a corrupt state file was accepted")
	}
}

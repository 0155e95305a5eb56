package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/transport"
)

// durablePipeline reads n synthetic scenes, adds NDVI (stateless, spread
// over workers), writes one COG per scene (scene-owned) and per-scene
// statistics of the whole run (run-owned: stats finishes at the end).
const durablePipeline = `
pipeline: dt
stages:
  - {id: read, op: cog.read, with: {scenes: "${scenes}", bands: [B04, B08], chunk: 64}}
  - {id: idx, op: indices, in: read, replicas: 2, with: {indices: [ndvi], offset: -1000}}
  - {id: write, op: cog.write, in: idx, with: {out: "${out}/{scene}.tif", columns: [ndvi], blocksize: 64}}
  - {id: stats, op: stats, in: idx, with: {out: "${out}/stats.json", columns: [ndvi], bins: 10}}
`

func synthScenes(n, size int) string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf("synth://%d/%d", size, i+1))
	}
	return strings.Join(s, ",")
}

func loadDurable(t testing.TB, yaml string, vars map[string]string, reg *op.Registry) *graph.Pipeline {
	t.Helper()
	if reg == nil {
		reg = operators.Registry()
	}
	p, err := graph.Load("test.yaml", []byte(yaml), graph.Options{Registry: reg, Vars: vars, MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// localReference runs the pipeline with the in-process engine.
func localReference(t testing.TB, yaml string, vars map[string]string) string {
	t.Helper()
	out := t.TempDir()
	v := map[string]string{"out": out}
	for k, x := range vars {
		v[k] = x
	}
	p := loadDurable(t, yaml, v, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := engine.RunLocal(ctx, p, engine.Options{Log: t.Logf}); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFiles checks that every file of want exists in got with the same bytes.
func sameFiles(t testing.TB, want, got string) {
	t.Helper()
	ents, err := os.ReadDir(want)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		a, err := os.ReadFile(filepath.Join(want, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(got, e.Name()))
		if err != nil {
			t.Fatalf("missing output: %v", err)
		}
		if strings.HasSuffix(e.Name(), ".json") {
			a, b = canonJSON(t, a), canonJSON(t, b)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs from the in-process run", e.Name())
		}
		n++
	}
	if n == 0 {
		t.Fatal("reference run wrote nothing")
	}
	gents, _ := os.ReadDir(got)
	for _, e := range gents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

// canonJSON sorts a stats file's scenes (their order follows completion).
func canonJSON(t testing.TB, data []byte) []byte {
	var v []map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("stats: %v", err)
	}
	sort.Slice(v, func(i, j int) bool { return fmt.Sprint(v[i]["scene"]) < fmt.Sprint(v[j]["scene"]) })
	out, _ := json.Marshal(v)
	return out
}

func sceneStates(t testing.TB, url, pipeline, run string) map[string]engine.SceneRecord {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, transport.Names{Pipeline: pipeline}.Bucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeysFiltered(ctx, transport.Token(run)+".scene.>")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]engine.SceneRecord{}
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		var r engine.SceneRecord
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.Scene] = r
	}
	return out
}

// TestDurableMatchesLocal runs a pipeline durably in this process against
// a real nats-server and compares every output with the in-process engine.
func TestDurableMatchesLocal(t *testing.T) {
	srv := startNATS(t)
	vars := map[string]string{"scenes": synthScenes(4, 200)}
	want := localReference(t, durablePipeline, vars)
	out := t.TempDir()
	vars["out"] = out
	p := loadDurable(t, durablePipeline, vars, nil)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = engine.Run(ctx, ctx, p, engine.Options{Conn: nc, RunID: "r1", Log: t.Logf, Durable: &engine.DurableOptions{AckWait: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, want, out)
	st := sceneStates(t, srv.URL(), "dt", "r1")
	if len(st) != 4 {
		t.Fatalf("%d scene records, want 4: %v", len(st), st)
	}
	for s, r := range st {
		if r.State != engine.SceneDone {
			t.Fatalf("scene %s: %+v", s, r)
		}
	}
}

// TestDurableMaxOpenScenes checks the sources' flow control: watching every
// change of the run's state as it happens, a scene counts as open from its
// record's creation until its COG stage finished it, and no more than
// MaxOpenScenes may be open at once, although the source reads scenes in
// parallel.
func TestDurableMaxOpenScenes(t *testing.T) {
	srv := startNATS(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const n, limit = 10, 2
	p := loadDurable(t, scenePipeline, map[string]string{"scenes": synthScenes(n, 64), "out": t.TempDir()}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	names := transport.Names{Pipeline: p.Name, Run: "open"}
	kv, err := transport.SetupJetStream(ctx, js, names, []string{"idx", "write"}, transport.JetStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.Watch(ctx, transport.Token("open")+".>", jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	err = engine.Run(ctx, ctx, p, engine.Options{Conn: nc, RunID: "open", Log: t.Logf,
		Durable: &engine.DurableOptions{MaxOpenScenes: limit}})
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	finished, most := 0, 0
	for finished < n {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			t.Fatalf("%d of %d scenes seen finished", finished, n)
		}
		key := e.Key()
		switch {
		case strings.Contains(key, ".scene."):
			var r engine.SceneRecord
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				t.Fatal(err)
			}
			if r.State == engine.ScenePending {
				open[r.Scene] = true
			}
		case strings.Contains(key, ".stage.write.") && string(e.Value()) == engine.SceneDone:
			scene := key[strings.LastIndex(key, ".s-")+3:]
			if !open[scene] {
				t.Fatalf("scene %s finished but was not open", scene)
			}
			delete(open, scene)
			finished++
		}
		most = max(most, len(open))
	}
	if most > limit {
		t.Fatalf("%d scenes open at once, limit %d", most, limit)
	}
	if most < limit {
		t.Fatalf("at most %d scene(s) open at once: the limit of %d was never used", most, limit)
	}
}

// jsDump describes a run's KV entries other than scene records (leases,
// stage states) and the consumers of every stream, for hang reports.
func jsDump(url, pipeline, run string) string {
	nc, err := nats.Connect(url)
	if err != nil {
		return err.Error()
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	if kv, err := js.KeyValue(ctx, transport.Names{Pipeline: pipeline}.Bucket()); err == nil {
		if keys, err := kv.ListKeys(ctx); err == nil {
			for k := range keys.Keys() {
				if strings.Contains(k, ".scene.") {
					continue
				}
				if e, err := kv.Get(ctx, k); err == nil {
					fmt.Fprintf(&b, "kv %s = %s (rev %d)\n", k, e.Value(), e.Revision())
				}
			}
		}
	}
	for name := range js.StreamNames(ctx).Name() {
		s, err := js.Stream(ctx, name)
		if err != nil {
			continue
		}
		if si, err := s.Info(ctx); err == nil {
			fmt.Fprintf(&b, "stream %s: %d msgs, leader %s\n", name, si.State.Msgs, si.Cluster.Leader)
		}
		if strings.HasPrefix(name, "RF_") {
			// Per scene: messages, kinds and summed weights.
			type acc struct {
				n     int
				kinds map[string]int
				w     *big.Rat
				ids   []string
			}
			per := map[string]*acc{}
			si, _ := s.Info(ctx)
			for seq := si.State.FirstSeq; si != nil && seq <= si.State.LastSeq; seq++ {
				m, err := s.GetMsg(ctx, seq)
				if err != nil {
					continue
				}
				sc := m.Header.Get(transport.HdrScene)
				a := per[sc]
				if a == nil {
					a = &acc{kinds: map[string]int{}, w: new(big.Rat)}
					per[sc] = a
				}
				a.n++
				a.kinds[m.Header.Get(transport.HdrKind)]++
				if w, ok := new(big.Rat).SetString(m.Header.Get(transport.HdrWeight)); ok {
					a.w.Add(a.w, w)
				}
				a.ids = append(a.ids, m.Header.Get(transport.HdrFrom)+"|"+m.Header.Get(transport.HdrID))
			}
			for sc, a := range per {
				fmt.Fprintf(&b, "  scene %q: %d msgs %v weight %s\n", sc, a.n, a.kinds, a.w.RatString())
				if a.w.Cmp(big.NewRat(1, 1)) != 0 {
					fmt.Fprintf(&b, "    ids %v\n", a.ids)
				}
			}
		}
		for ci := range s.ListConsumers(ctx).Info() {
			fmt.Fprintf(&b, "  consumer %s: pending %d, ack pending %d, redelivered %d, waiting %d, leader %s\n",
				ci.Name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, ci.Cluster.Leader)
		}
	}
	return b.String()
}

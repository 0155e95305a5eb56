package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/transport"
)

// corruptOp passes chunks through but fails on one chunk of one scene,
// like a processor meeting corrupt data.
type corruptOp struct{ scene string }

func (o corruptOp) Process(ctx context.Context, c *chunk.Chunk, emit op.Emit) error {
	if c.Meta.Scene == o.scene && c.Meta.Index == 3 {
		return fmt.Errorf("corrupt tile in chunk %d", c.Meta.Index)
	}
	nc, err := c.With()
	if err != nil {
		return err
	}
	return emit(ctx, nc)
}

func corruptRegistry(scene string) *op.Registry {
	reg := op.NewRegistry()
	for _, n := range []string{"cog.read", "cog.write", "indices"} {
		s, _ := operators.Registry().Lookup(n)
		reg.Register(s)
	}
	reg.Register(&op.Spec{Name: "corrupt", Kind: op.Transform,
		Flow: func(_ *op.Config, in []op.Schema) (op.Schema, error) { return op.Merge(in), nil },
		New:  func(*op.Config, op.Env) (any, error) { return corruptOp{scene: scene}, nil }})
	return reg
}

// TestDeadLetter runs scenes of which one has a chunk its processor
// always fails on: that chunk goes to the dead-letter subject with its
// stage, scene and error after max_deliver tries, the scene is recorded
// as failed, and the other scenes complete.
func TestDeadLetter(t *testing.T) {
	srv := startNATS(t)
	out := t.TempDir()
	const bad = "synth-128-2"
	yaml := `
pipeline: dlq
stages:
  - {id: read, op: cog.read, with: {scenes: "${scenes}", bands: [B04, B08], chunk: 32}}
  - {id: check, op: corrupt, in: read, replicas: 2}
  - {id: write, op: cog.write, in: check, with: {out: "${out}/{scene}.tif", columns: [B04]}}
`
	p := loadDurable(t, yaml, map[string]string{"scenes": synthScenes(4, 128), "out": out}, corruptRegistry(bad))
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = engine.Run(ctx, ctx, p, engine.Options{Conn: nc, RunID: "d1", Log: t.Logf, Durable: &engine.DurableOptions{MaxDeliver: 3, AckWait: 2 * time.Second}})
	if !errors.Is(err, engine.ErrScenesFailed) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("run error %v, want the failure of scene %s", err, bad)
	}
	// The dead letter.
	js, _ := jetstream.New(nc)
	names := transport.Names{Pipeline: "dlq", Run: "d1"}
	s, err := js.Stream(ctx, names.DLQStream())
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, names.DLQ())
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	if h.Get(transport.HdrStage) != "check" || h.Get(transport.HdrScene) != bad || !strings.Contains(h.Get(transport.HdrError), "corrupt tile in chunk 3") ||
		h.Get(transport.HdrDeliveries) != "3" {
		t.Fatalf("dead letter headers %v", h)
	}
	if c, err := transport.Decode(m.Data, nil); err != nil || c.Meta.Scene != bad || c.Meta.Index != 3 {
		t.Fatalf("dead letter body: %v", err)
	}
	info, _ := s.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("%d dead letters, want 1", info.State.Msgs)
	}
	st := sceneStates(t, srv.URL(), "dlq", "d1")
	for i := 1; i <= 4; i++ {
		sc := fmt.Sprintf("synth-128-%d", i)
		_, ferr := os.Stat(filepath.Join(out, sc+".tif"))
		if sc == bad {
			if st[sc].State != engine.SceneFailed || !strings.Contains(st[sc].Error, "corrupt tile") || ferr == nil {
				t.Fatalf("bad scene: %+v, file: %v", st[sc], ferr)
			}
			continue
		}
		if st[sc].State != engine.SceneDone || ferr != nil {
			t.Fatalf("scene %s: %+v, file: %v", sc, st[sc], ferr)
		}
	}
	left, _ := os.ReadDir(out)
	for _, e := range left {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

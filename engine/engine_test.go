package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/transport"
)

func runPipeline(t *testing.T, yaml string, vars map[string]string) {
	t.Helper()
	p, err := graph.Load("test.yaml", []byte(yaml), graph.Options{Registry: operators.Registry(), Vars: vars, MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := engine.RunLocal(ctx, p, engine.Options{Log: t.Logf}); err != nil {
		t.Fatal(err)
	}
}

func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stats.json")
	runPipeline(t, `
pipeline: t
stages:
  - {id: scene, op: synth, with: {size: 300, chunk: 128}}
  - {id: idx, op: indices, in: scene, replicas: 2}
  - {id: stats, op: stats, in: idx, with: {out: `+out+`}}
`, nil)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res []map[string]any
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("got %d scenes", len(res))
	}
}

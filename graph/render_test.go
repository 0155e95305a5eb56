package graph

import (
	"os/exec"
	"strings"
	"testing"
)

// fanPipeline fans out from one source to two stages and back in, then
// into a sink.
const fanPipeline = `pipeline: fan
stages:
  - id: scene
    op: synth
    with: {size: 256, chunk: 128, bands: [B03, B04, B08]}
  - id: ndvi
    op: indices
    in: scene
    replicas: 2
    device: gpu
    with: {indices: [ndvi]}
  - id: water
    op: indices
    in: scene
    with: {indices: [ndwi], expr: {"a|b": "B08 / B03"}}
  - id: both
    op: indices
    in: [ndvi, water]
    with: {indices: [savi]}
  - id: stats
    op: stats
    in: both
    with: {out: stats.json}
`

func TestRender(t *testing.T) {
	p := mustLoad(t, fanPipeline, nil, nil)
	for _, c := range []struct {
		golden string
		write  func(*strings.Builder) error
	}{
		{"fan.dot", func(b *strings.Builder) error { return p.WriteDOT(b) }},
		{"fan.mmd", func(b *strings.Builder) error { return p.WriteMermaid(b) }},
	} {
		t.Run(c.golden, func(t *testing.T) {
			var b strings.Builder
			if err := c.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, b.String())
		})
	}
}

// TestDOTParses feeds the DOT output to Graphviz, which must accept it and
// draw every stage and edge.
func TestDOTParses(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz dot not installed")
	}
	p := mustLoad(t, fanPipeline, nil, nil)
	var b strings.Builder
	if err := p.WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dot, "-Tplain")
	cmd.Stdin = strings.NewReader(b.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dot: %v\n%s", err, b.String())
	}
	nodes, edges := 0, 0
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "node "):
			nodes++
		case strings.HasPrefix(l, "edge "):
			edges++
		}
	}
	if nodes != 5 || edges != 5 {
		t.Errorf("dot drew %d nodes and %d edges, want 5 and 5:\n%s", nodes, edges, out)
	}
}

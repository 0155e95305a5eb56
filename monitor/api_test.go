package monitor

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
)

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"":               "127.0.0.1:0",
		"8080":           "127.0.0.1:8080",
		":8080":          "127.0.0.1:8080",
		"0.0.0.0:9000":   "0.0.0.0:9000",
		"localhost:9000": "localhost:9000",
		"[::1]:9000":     "[::1]:9000",
	} {
		if got := ListenAddr(in); got != want {
			t.Errorf("ListenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestServeAPIBackPressure serves the back-pressure scenario and reads it
// back through the JSON API, the graph API and the dashboard files.
func TestServeAPIBackPressure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := newFakeClock()
	src := backPressured("w1", clk.Now())
	srv, err := Serve(ctx, ":0", src, landcover(), Options{Interval: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "http://"), "/"))
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("a bare port must bind 127.0.0.1, got %s (%v)", srv.URL(), err)
	}
	// Run took the first sample; take the second by hand one second later.
	eventually(t, 5*time.Second, "the first sample", func() bool { return len(srv.Sampler.Latest().Stages) == 4 })
	clk.Advance(time.Second)
	srv.Sampler.Sample()

	body, hdr := get(t, srv.URL()+"api/stages")
	if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", hdr.Get("Content-Type"))
	}
	var v View
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"read": StateBackPressured, "dem": StateBackPressured, "classify": StateBusy, "write": StateOK}
	for _, r := range v.Stages {
		if r.State != want[r.Stage] {
			t.Errorf("stage %s: state %q, want %q", r.Stage, r.State, want[r.Stage])
		}
	}
	read := stageRate(t, v.Stages, "read")
	near(t, "read blocked (JSON)", read.Blocked, src.stages[0].blocked.Seconds())
	near(t, "read pixels out/s (JSON)", read.PixelsOutPerSec, float64(src.stages[0].pixelsOut))
	// The JSON field names the dashboard reads.
	for _, field := range []string{`"pixels_out_per_s"`, `"chunks_in_per_s"`, `"bytes_in_per_s"`, `"busy"`, `"blocked"`, `"idle"`, `"inflight"`, `"p99_s"`, `"state"`, `"errors"`, `"redeliveries"`} {
		if !strings.Contains(body, field) {
			t.Errorf("/api/stages lacks %s", field)
		}
	}

	body, _ = get(t, srv.URL()+"api/graph")
	var gs []Graph
	if err := json.Unmarshal([]byte(body), &gs); err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Pipeline != "landcover" || len(gs[0].Stages) != 4 {
		t.Fatalf("graph: %+v", gs)
	}
	levels := map[string]int{}
	for _, n := range gs[0].Stages {
		levels[n.ID] = n.Level
	}
	if levels["read"] != 0 || levels["dem"] != 0 || levels["classify"] != 1 || levels["write"] != 2 {
		t.Errorf("levels %v, want read 0, dem 0, classify 1, write 2", levels)
	}

	body, _ = get(t, srv.URL()+"api/history")
	var hist []Series
	if err := json.Unmarshal([]byte(body), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 4 || len(hist[0].Points) != 2 {
		t.Fatalf("history: %d series, first with %d points; want 4 and 2", len(hist), len(hist[0].Points))
	}

	html, hdr := get(t, srv.URL())
	if !strings.Contains(html, "<script src=\"app.js\"></script>") || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("dashboard page: %s %q", hdr.Get("Content-Type"), html[:min(len(html), 200)])
	}
	for _, f := range []string{"", "app.js", "style.css"} {
		body, _ := get(t, srv.URL()+f)
		// The SVG namespace is a name, not a resource.
		body = strings.ReplaceAll(body, `"http://www.w3.org/2000/svg"`, "")
		if strings.Contains(body, "://") || strings.Contains(body, "//cdn") {
			t.Errorf("%s refers to an external resource", f)
		}
	}

	cancel()
	if err := srv.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
}

func TestGraphLevelsFromUnorderedAndCyclicGraphs(t *testing.T) {
	g := Graph{Stages: []GraphNode{
		{ID: "c", In: []string{"b"}}, {ID: "b", In: []string{"a"}}, {ID: "a"}, {ID: "d", In: []string{"a", "c"}},
	}}
	g.level()
	want := map[string]int{"a": 0, "b": 1, "c": 2, "d": 3}
	for _, n := range g.Stages {
		if n.Level != want[n.ID] {
			t.Errorf("%s: level %d, want %d", n.ID, n.Level, want[n.ID])
		}
	}
	cyc := Graph{Stages: []GraphNode{{ID: "x", In: []string{"y"}}, {ID: "y", In: []string{"x"}}}}
	cyc.level() // must return, with levels bounded
	for _, n := range cyc.Stages {
		if n.Level < 0 || n.Level > len(cyc.Stages) {
			t.Errorf("cyclic graph: level %d out of bounds", n.Level)
		}
	}
}

func TestGraphWithoutPipelineComesFromStages(t *testing.T) {
	reg := &metrics.Registry{}
	reg.Stage("p", "a", "op1", "")
	reg.Stage("p", "b", "op2", "")
	s := NewSampler(reg, Options{})
	s.Sample()
	h := NewHandler(s, (*graph.Pipeline)(nil))
	gs := h.graphList()
	if len(gs) != 1 || len(gs[0].Stages) != 2 || gs[0].Stages[1].Level != 1 {
		t.Fatalf("graph from stages: %+v", gs)
	}
}

func TestAPIBeforeFirstSampleHasEmptyLists(t *testing.T) {
	s := NewSampler(&metrics.Registry{}, Options{})
	srv := httptest.NewServer(NewHandler(s, nil))
	defer srv.Close()
	body, _ := get(t, srv.URL+"/api/stages")
	for _, f := range []string{`"stages":[]`, `"workers":[]`, `"gauges":[]`} {
		if !strings.Contains(body, f) {
			t.Errorf("/api/stages before a sample: want %s in %s", f, body)
		}
	}
	if body, _ := get(t, srv.URL+"/api/graph"); strings.TrimSpace(body) != "[]" {
		t.Errorf("/api/graph before a sample: %s", body)
	}
}

// graphSource is a source with a graph, like a Collector.
type graphSource struct {
	Source
	g Graph
}

func (g graphSource) Graphs() []Graph { return []Graph{g.g} }

func TestMergeKeepsGraphs(t *testing.T) {
	remote := graphSource{backPressured("w2", time.Now()), *GraphOf(landcover())}
	s := NewSampler(Merge(&metrics.Registry{}, remote), Options{})
	s.Sample()
	gs := NewHandler(s, nil).graphList()
	if len(gs) != 1 || len(gs[0].Stages) != 4 || gs[0].Stages[2].In == nil {
		t.Fatalf("graphs through Merge: %+v", gs)
	}
}

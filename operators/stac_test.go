package operators

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
)

// stacServer serves the recorded search pages of testdata/stac with their
// links and asset hrefs pointing at itself, and the real COGs of
// s2-l2a-29rkh for every item's assets.
type stacServer struct {
	t      testing.TB
	srv    *httptest.Server
	cogs   string
	pages  [2][]byte
	later  []byte
	mu     sync.Mutex
	bodies []map[string]any // search bodies received, in order
	gets   int              // searches asked with GET
	addNew bool             // page 2 also lists later-item.json
	fail   int              // answer this many searches 503 first
	// Authorization / X-Asset headers received by searches and COG reads.
	searchAuth, cogAuth map[string]bool
}

const (
	recordedAPI   = "https://earth-search.aws.element84.com/v1"
	recordedCOGs  = "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/29/R/KH/2020/2/"
	recordedToken = "2020-02-24T11:34:20.215Z,S2B_29RKH_20200224_0_L2A,sentinel-s2-l2a-cogs"
)

func newSTACServer(t testing.TB) *stacServer {
	s := &stacServer{t: t, cogs: realS2(t), searchAuth: map[string]bool{}, cogAuth: map[string]bool{}}
	for i, name := range []string{"page1.json", "page2.json", "later-item.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "stac", name))
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			s.pages[i] = b
		} else {
			s.later = b
		}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stacServer) url() string { return s.srv.URL + "/v1" }

func (s *stacServer) rewrite(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(recordedAPI), []byte(s.srv.URL+"/v1"))
	return bytes.ReplaceAll(b, []byte(recordedCOGs), []byte(s.srv.URL+"/cogs/"))
}

func (s *stacServer) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/cogs/"):
		// /cogs/ITEM/FILE: every item is the same real scene.
		name := path.Base(r.URL.Path)
		if name != filepath.Base(name) || !strings.HasSuffix(name, ".tif") {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.cogAuth[r.Header.Get("Authorization")+"|"+r.Header.Get("X-Asset")] = true
		s.mu.Unlock()
		http.ServeFile(w, r, filepath.Join(s.cogs, name))
	case r.URL.Path == "/v1/search":
		s.mu.Lock()
		defer s.mu.Unlock()
		s.searchAuth[r.Header.Get("Authorization")+"|"+r.Header.Get("X-Asset")] = true
		if s.fail > 0 {
			s.fail--
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		body := map[string]any{}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				http.Error(w, "content type "+ct, http.StatusBadRequest)
				return
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		} else {
			s.gets++
			for k, v := range r.URL.Query() {
				body[k] = v[0]
			}
		}
		s.bodies = append(s.bodies, body)
		page := s.pages[0]
		if body["next"] == recordedToken {
			page = s.pages[1]
			if s.addNew {
				page = s.withLater(page)
			}
		}
		w.Header().Set("Content-Type", "application/geo+json")
		w.Write(s.rewrite(page))
	default:
		http.NotFound(w, r)
	}
}

// withLater adds later-item.json to a page's features.
func (s *stacServer) withLater(page []byte) []byte {
	var p map[string]any
	var it any
	if err := json.Unmarshal(page, &p); err != nil {
		s.t.Error(err)
		return page
	}
	if err := json.Unmarshal(s.later, &it); err != nil {
		s.t.Error(err)
		return page
	}
	p["features"] = append(p["features"].([]any), it)
	b, _ := json.Marshal(p)
	return b
}

func (s *stacServer) searches() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

var allS2Bands = []string{"B02", "B03", "B04", "B08", "B11", "B12", "SCL"}

func s2Resampling() map[string]string {
	return map[string]string{"B11": "bilinear", "B12": "bilinear", "SCL": "nearest"}
}

func TestSTACSearch(t *testing.T) {
	srv := newSTACServer(t)
	p := newTestProducer(t, stacSearchSpec, map[string]any{
		"url":         srv.url(),
		"collections": []string{"sentinel-2-l2a"},
		"bbox":        "-11.98,24.30,-10.87,25.30",
		"datetime":    "2020-02-01/2020-02-29",
		"max_cloud":   20.0,
		"limit":       2,
		"bands":       allS2Bands,
		"grid":        "B02",
		"resampling":  s2Resampling(),
	})
	c := newSceneCollector()
	defer c.release()
	if err := p.Run(context.Background(), c.emit); err != nil {
		t.Fatal(err)
	}

	// What the server was asked: the search, then page 2 by the next link
	// (POST, its body merged into the first).
	bodies := srv.searches()
	if len(bodies) != 2 {
		t.Fatalf("%d searches, want 2 (two pages)", len(bodies))
	}
	first := map[string]any{
		"collections": []any{"sentinel-2-l2a"},
		"bbox":        []any{-11.98, 24.30, -10.87, 25.30},
		"datetime":    "2020-02-01T00:00:00Z/2020-02-29T23:59:59.999Z",
		"query":       map[string]any{"eo:cloud_cover": map[string]any{"lt": 20.0}},
		"limit":       2.0,
	}
	if !reflect.DeepEqual(bodies[0], first) {
		t.Errorf("search body\n got %v\nwant %v", bodies[0], first)
	}
	second := map[string]any{"next": recordedToken}
	for k, v := range first {
		second[k] = v
	}
	if !reflect.DeepEqual(bodies[1], second) {
		t.Errorf("page 2 body\n got %v\nwant %v", bodies[1], second)
	}

	// The 63.2 % cloudy item the server sent anyway is dropped.
	want := []string{"S2A_29RKH_20200219_0_L2A", "S2B_29RKH_20200224_0_L2A", "S2A_29RKH_20200229_0_L2A"}
	if got := c.complete(); !sameStrings(sortedCopy(got), sortedCopy(want)) {
		t.Fatalf("complete scenes %v, want %v", got, want)
	}
	// Every scene is the real one: it must match cog.read of the folder,
	// 1098x1098 on the 100 m grid with the 200 m bands resampled.
	ref := readFolder(t, srv.cogs, allS2Bands, map[string]any{"grid": "B02", "resampling": s2Resampling()})
	defer ref.release()
	for _, id := range want {
		sameScene(t, c, id, ref, "s2-l2a-29rkh")
		ch := c.chunks[id][0]
		if ch.Meta.GridW != 1098 || ch.Meta.GridH != 1098 || ch.Meta.Total != 9 {
			t.Errorf("scene %s: grid %dx%d, %d chunks; want 1098x1098 in 9", id, ch.Meta.GridW, ch.Meta.GridH, ch.Meta.Total)
		}
		if ch.Meta.Attrs["stac.item"] != id || ch.Meta.Attrs["datetime"] == "" {
			t.Errorf("scene %s: attrs %v", id, ch.Meta.Attrs)
		}
	}
}

func TestSTACSearchMaxItemsAndRetry(t *testing.T) {
	srv := newSTACServer(t)
	srv.fail = 2 // two 503s, then the answer
	p := newTestProducer(t, stacSearchSpec, map[string]any{
		"url": srv.url(), "max_items": 1, "bands": []string{"B04", "B11"},
		"assets": map[string]string{"B11": "swir16"}, "chunk": 1024,
		"headers": map[string]string{"Authorization": "Bearer s3cret"}, "asset_headers": map[string]string{"X-Asset": "yes"},
	})
	p.(*stacSearch).retryBase = time.Millisecond
	c := newSceneCollector()
	defer c.release()
	if err := p.Run(context.Background(), c.emit); err != nil {
		t.Fatal(err)
	}
	if got := c.complete(); !sameStrings(got, []string{"S2A_29RKH_20200219_0_L2A"}) {
		t.Fatalf("scenes %v, want only the first item", got)
	}
	if n := len(srv.searches()); n != 1 {
		t.Errorf("%d searches answered, want 1 (max_items reached on page 1)", n)
	}
	if _, ok := srv.searches()[0]["query"]; ok {
		t.Error("a cloud filter was sent without max_cloud")
	}
	// Each kind of request got its own headers only.
	if want := map[string]bool{"Bearer s3cret|": true}; !reflect.DeepEqual(srv.searchAuth, want) {
		t.Errorf("search headers %v, want %v", srv.searchAuth, want)
	}
	if want := map[string]bool{"|yes": true}; !reflect.DeepEqual(srv.cogAuth, want) {
		t.Errorf("asset read headers %v, want %v", srv.cogAuth, want)
	}
}

func TestSTACSearchErrors(t *testing.T) {
	srv := newSTACServer(t)
	// A band the items lack: the error names the scene and the band.
	p := newTestProducer(t, stacSearchSpec, map[string]any{"url": srv.url(), "bands": []string{"B02", "B99"}})
	err := p.Run(context.Background(), newSceneCollector().emit)
	if err == nil || !strings.Contains(err.Error(), "S2A_29RKH_20200219_0_L2A") || !strings.Contains(err.Error(), "B99") {
		t.Fatalf("missing asset: %v", err)
	}
	// An asset that cannot be read: the error names the scene, band and href.
	p = newTestProducer(t, stacSearchSpec, map[string]any{"url": srv.url(), "bands": []string{"B02", "B8A"}})
	err = p.Run(context.Background(), newSceneCollector().emit)
	if err == nil || !strings.Contains(err.Error(), "scene S2A_29RKH_20200219_0_L2A, band B8A") || !strings.Contains(err.Error(), srv.srv.URL+"/cogs/S2A_29RKH_20200219_0_L2A/B8A.tif") {
		t.Fatalf("unreadable asset: %v", err)
	}
	// Settings are checked without the network.
	for _, v := range []map[string]any{
		{"url": "ftp://x"},
		{"url": srv.url(), "bbox": "1,2,3"},
		{"url": srv.url(), "bbox": "0,50,1,40"},
		{"url": srv.url(), "datetime": "yesterday"},
		{"url": srv.url(), "datetime": "../.."},
		{"url": srv.url(), "assets": map[string]string{"B11": "swir16"}},
	} {
		cfg, err := op.NewConfig(stacSearchSpec, v)
		if err == nil {
			_, err = stacSearchSpec.Flow(cfg, nil)
		}
		if err == nil {
			t.Errorf("settings %v accepted", v)
		}
	}
}

func TestNormDatetime(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "",
		"2020-02-19":                           "2020-02-19T00:00:00Z/2020-02-19T23:59:59.999Z",
		"2020-02-01/..":                        "2020-02-01T00:00:00Z/..",
		"../2020-02-29":                        "../2020-02-29T23:59:59.999Z",
		"2020-02-19T11:34:25.405Z":             "2020-02-19T11:34:25.405Z",
		"2020-02-19T00:00:00Z/":                "2020-02-19T00:00:00Z/..",
		"2020-01-01T00:00:00+01:00/2020-02-01": "2020-01-01T00:00:00+01:00/2020-02-01T23:59:59.999Z",
	} {
		got, err := normDatetime(in)
		if err != nil || got != want {
			t.Errorf("normDatetime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNextLinkGET(t *testing.T) {
	prev := stacLink{Href: "http://h/v1/search", Method: "POST", Body: map[string]any{"limit": 2}}
	l, ok := nextLink([]stacLink{{Rel: "self", Href: "x"}, {Rel: "next", Href: "search?token=abc"}}, prev)
	if !ok || l.Method != "GET" || l.Href != "http://h/v1/search?token=abc" || l.Body != nil {
		t.Fatalf("GET next link: %+v %v", l, ok)
	}
	l, ok = nextLink([]stacLink{{Rel: "next", Href: "http://h/v1/search", Method: "post", Body: map[string]any{"token": "t"}}}, prev)
	if !ok || l.Method != "POST" || !reflect.DeepEqual(l.Body, map[string]any{"token": "t"}) {
		t.Fatalf("POST next link without merge: %+v", l)
	}
	if _, ok := nextLink([]stacLink{{Rel: "prev", Href: "x"}}, prev); ok {
		t.Fatal("found a next link where there is none")
	}
}

func TestSTACPoll(t *testing.T) {
	srv := newSTACServer(t)
	state := filepath.Join(t.TempDir(), "poll-state.json")
	values := map[string]any{
		"url": srv.url(), "collections": []string{"sentinel-2-l2a"}, "datetime": "2020-02-01/2020-03-31", "max_cloud": 20.0, "limit": 2,
		"interval": 10 * time.Millisecond, "state": state, "bands": []string{"B04", "B11"}, "chunk": 1024,
	}
	c := newSceneCollector()
	defer c.release()
	run := startSource(newTestProducer(t, stacPollSpec, values), c.emit)
	old := []string{"S2A_29RKH_20200219_0_L2A", "S2B_29RKH_20200224_0_L2A", "S2A_29RKH_20200229_0_L2A"}
	waitUntil(t, "the first items", func() bool { return len(c.complete()) == 3 })
	// Oldest first.
	if got := c.complete(); !sameStrings(got, old) {
		t.Fatalf("first round read %v, want %v", got, old)
	}
	srv.mu.Lock()
	srv.addNew = true
	n0 := len(srv.bodies)
	srv.mu.Unlock()
	waitUntil(t, "the new item", func() bool { return len(c.complete()) == 4 })
	// Let a few more rounds pass: nothing is read again.
	waitUntil(t, "more rounds", func() bool { return len(srv.searches()) >= n0+8 })
	if err := run.stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	for _, id := range append(old, "S2B_29RKH_20200305_0_L2A") {
		if n := c.count(id); n != 4 {
			t.Errorf("scene %s: %d chunks, want 4 (read once)", id, n)
		}
	}
	// After the first round the window starts lookback (72 h) before the
	// latest item read.
	last := srv.searches()[len(srv.searches())-1]
	if got, want := last["datetime"], "2020-03-02T11:34:19.902Z/2020-03-31T23:59:59.999Z"; got != want {
		t.Errorf("later rounds search datetime %v, want %v", got, want)
	}

	// A restart with the state file reads nothing again.
	c2 := newSceneCollector()
	defer c2.release()
	n1 := len(srv.searches())
	run = startSource(newTestProducer(t, stacPollSpec, values), c2.emit)
	waitUntil(t, "rounds after restart", func() bool { return len(srv.searches()) >= n1+6 })
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := c2.complete(); len(got) != 0 {
		t.Fatalf("after restart read %v again", got)
	}
}

// BenchmarkSceneSources reads the real scene's four 10 m bands (1098x1098)
// through stac.search from a loopback STAC API and HTTP server, and with
// cog.read from the local folder, for comparison.
func BenchmarkSceneSources(b *testing.B) {
	bands := []string{"B02", "B03", "B04", "B08"}
	const pixels = 1098 * 1098
	bench := func(b *testing.B, spec *op.Spec, values map[string]any) {
		cfg, err := op.NewConfig(spec, values)
		if err != nil {
			b.Fatal(err)
		}
		inst, err := spec.New(cfg, op.Env{})
		if err != nil {
			b.Fatal(err)
		}
		p := inst.(op.Producer)
		b.SetBytes(pixels * 2 * int64(len(bands)))
		b.ResetTimer()
		for range b.N {
			if err := p.Run(context.Background(), func(_ context.Context, c *chunk.Chunk) error { c.Release(); return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(pixels)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
	}
	dir := realS2(b)
	b.Run("stac.search-http", func(b *testing.B) {
		srv := newSTACServer(b)
		bench(b, stacSearchSpec, map[string]any{"url": srv.url(), "max_items": 1, "bands": bands})
	})
	b.Run("cog.read-local", func(b *testing.B) {
		bench(b, cogReadSpec, map[string]any{"scenes": []string{dir}, "bands": bands})
	})
}

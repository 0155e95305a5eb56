package monitor

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/transport"
)

// startNATS starts an embedded server that also listens on a loopback port,
// as `rasterflow run --listen` does.
func startNATS(t *testing.T) *transport.Embedded {
	t.Helper()
	srv, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

func connectTCP(t *testing.T, srv *transport.Embedded) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// steppingClock advances one second on every reading, so a publisher
// ticking every few milliseconds reports seconds of linear counters.
type steppingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// publishScenario publishes the back-pressure scenario as worker until the
// test ends.
func publishScenario(t *testing.T, nc *nats.Conn, worker string, withGraph bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	clk := &steppingClock{t: newFakeClock().Now()}
	p := Publisher{Conn: nc, Subject: Subject("landcover"), Worker: worker, Source: backPressured("", clk.t), Interval: 20 * time.Millisecond, Now: clk.Now}
	if withGraph {
		p.Pipeline = landcover()
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			t.Errorf("publisher %s: %v", worker, err)
		}
	})
}

func TestSubject(t *testing.T) {
	for in, want := range map[string]string{"landcover": "rf.metrics.landcover", "a.b *>c": "rf.metrics.a_b___c", "": "rf.metrics._"} {
		if got := Subject(in); got != want {
			t.Errorf("Subject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPublishCollectMergesWorkers(t *testing.T) {
	srv := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := Collect(ctx, connectTCP(t, srv), SubjectAll)
	if err != nil {
		t.Fatal(err)
	}
	publishScenario(t, connectTCP(t, srv), "w1", true)
	publishScenario(t, connectTCP(t, srv), "w2", false)

	eventually(t, 10*time.Second, "snapshots from both workers", func() bool { return len(c.Snapshot(time.Now())) == 8 })
	workers := map[string]int{}
	for _, s := range c.Snapshot(time.Now()) {
		workers[s.Worker]++
		if s.Pipeline != "landcover" {
			t.Errorf("pipeline %q", s.Pipeline)
		}
	}
	if workers["w1"] != 4 || workers["w2"] != 4 {
		t.Errorf("stages per worker: %v, want 4 each (empty worker names filled in)", workers)
	}
	if gs := c.Graphs(); len(gs) != 1 || len(gs[0].Stages) != 4 || gs[0].Stages[3].Level != 2 {
		t.Errorf("graphs from the wire: %+v", gs)
	}

	// The dashboard and /metrics over the collector cover the cluster.
	s := NewSampler(c, Options{})
	h := httptest.NewServer(NewHandler(s, nil))
	defer h.Close()
	var classify Rate
	eventually(t, 10*time.Second, "cluster rates", func() bool {
		v := s.Sample()
		for _, r := range v.Stages {
			if r.Stage == "classify" && r.Workers == 2 && r.Seconds > 0 && len(v.Workers) == 8 && allRated(v.Workers) {
				classify = r
				return true
			}
		}
		return false
	})
	// Each worker's counters grow 80 chunks in per second of its clock.
	near(t, "cluster classify chunks in/s", classify.ChunksInPerSec, 2*80)
	near(t, "cluster classify busy", classify.Busy, 0.95)
	if classify.State != StateBusy {
		t.Errorf("classify state %q", classify.State)
	}
	body, _ := get(t, h.URL+"/metrics")
	fams := parseProm(t, body)
	for _, w := range []string{"w1", "w2"} {
		if v := value(t, fams, "rasterflow_stage_chunks_in_total", "classify", w); v <= 0 {
			t.Errorf("worker %s: classify chunks in %v", w, v)
		}
	}
}

func allRated(rs []Rate) bool {
	for _, r := range rs {
		if r.Seconds == 0 {
			return false
		}
	}
	return true
}

func TestCollectorDropsBadMessages(t *testing.T) {
	srv := startNATS(t)
	nc := connectTCP(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := Collect(ctx, nc, Subject("x"))
	if err != nil {
		t.Fatal(err)
	}
	huge := `{"worker":"w","stages":[` + strings.Repeat(`{},`, maxMessageStages) + `{}]}`
	for _, bad := range []string{`not json`, `{"stages":[]}`, huge, `{"worker":"` + strings.Repeat("w", maxNameLen+1) + `"}`} {
		if err := nc.Publish(Subject("x"), []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	nc.Flush()
	eventually(t, 5*time.Second, "four invalid messages", func() bool { _, bad, _ := c.Stats(); return bad == 4 })
	if n, _, lastErr := c.Stats(); n != 0 || lastErr == nil || !strings.HasPrefix(lastErr.Error(), "monitor: ") {
		t.Errorf("stats: %d valid, last error %v", n, lastErr)
	}
	if len(c.Snapshot(time.Now())) != 0 {
		t.Error("bad messages produced snapshots")
	}
}

func TestTopOnceShowsBackPressure(t *testing.T) {
	srv := startNATS(t)
	publishScenario(t, connectTCP(t, srv), "w1", true)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Top(ctx, connectTCP(t, srv), Subject("landcover"), &out, TopOptions{Interval: 50 * time.Millisecond, Once: true}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Logf("top --once:\n%s", text)
	if strings.Contains(text, "\033[") {
		t.Error("--once output has escape codes")
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			rows[f[0]] = f
		}
	}
	for id, want := range map[string]string{"read": StateBackPressured, "dem": StateBackPressured, "classify": StateBusy, "write": StateOK} {
		f := rows[id]
		if len(f) == 0 {
			t.Errorf("no row for %s", id)
			continue
		}
		if f[len(f)-1] != want {
			t.Errorf("%s: state %q, want %q", id, f[len(f)-1], want)
		}
	}
	// Columns: stage op workers replicas chunks/s Mpixel/s MB/s busy back-pressured ...
	if f := rows["read"]; len(f) > 8 && (f[4] != "40.0" || f[8] != "80%") {
		t.Errorf("read row %v: want 40.0 chunks/s and 80%% back-pressured", f)
	}
	if f := rows["classify"]; len(f) > 8 && (f[7] != "95%" || f[9] != "6") {
		t.Errorf("classify row %v: want 95%% busy and 6 in flight", f)
	}
}

func TestTopOnceTimesOutWithoutPublishers(t *testing.T) {
	srv := startNATS(t)
	err := Top(context.Background(), connectTCP(t, srv), Subject("nobody"), &bytes.Buffer{}, TopOptions{Interval: 10 * time.Millisecond, Once: true, Wait: 200 * time.Millisecond})
	if !errors.Is(err, ErrNoMetrics) {
		t.Fatalf("got %v, want ErrNoMetrics", err)
	}
}

func TestTopRedrawsInPlace(t *testing.T) {
	srv := startNATS(t)
	publishScenario(t, connectTCP(t, srv), "w1", false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Top(ctx, connectTCP(t, srv), Subject("landcover"), w, TopOptions{Interval: 20 * time.Millisecond})
	}()
	eventually(t, 10*time.Second, "three frames with the classify row", func() bool {
		s := w.String()
		return strings.Count(s, "\033[H") >= 3 && strings.Contains(s, "classify")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

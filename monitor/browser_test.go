package monitor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/metrics"
)

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install -y chromium): skipping the headless dashboard test")
	return ""
}

// runChromium runs headless Chromium on url with extra flags and returns
// its stdout.
func runChromium(t *testing.T, bin, url string, flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--user-data-dir=" + t.TempDir(),
	}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.String())
	}
	return string(out)
}

// driveBackPressure moves the landcover stages' counters in real time: read
// and dem blocked most of the time, classify (2 replicas) saturated, write
// keeping up.
func driveBackPressure(reg *metrics.Registry, stop <-chan struct{}) *sync.WaitGroup {
	type plan struct {
		m              *metrics.Stage
		busy, blocked  float64 // fractions of one replica's time
		chunksPerTick  int64
		in, out        bool
		inflight       int64
		latency        time.Duration
		bytesPerPixel  int64
		replicas       int64
		errorsEveryNth int
	}
	const pixels = 1 << 16
	stage := func(id, op string) *metrics.Stage { return reg.Stage("landcover", id, op, "w1") }
	plans := []plan{
		{m: stage("read", "cog-read"), busy: 0.15, blocked: 0.8, chunksPerTick: 2, out: true, latency: 3 * time.Millisecond, bytesPerPixel: 12, replicas: 1},
		{m: stage("dem", "cog-read"), busy: 0.1, blocked: 0.7, chunksPerTick: 2, out: true, latency: 2 * time.Millisecond, bytesPerPixel: 4, replicas: 1},
		{m: stage("classify", "forest"), busy: 0.95, chunksPerTick: 2, in: true, out: true, inflight: 6, latency: 40 * time.Millisecond, bytesPerPixel: 8, replicas: 2, errorsEveryNth: 150},
		{m: stage("write", "cog-write"), busy: 0.3, chunksPerTick: 1, in: true, inflight: 1, latency: 8 * time.Millisecond, bytesPerPixel: 1, replicas: 1},
	}
	for _, p := range plans {
		p.m.Replicas.Store(p.replicas)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case now := <-t.C:
				dt := float64(now.Sub(last))
				last = now
				// A slow wave so the charts have a shape.
				wave := int64(1 + (i/40)%3)
				for _, p := range plans {
					n := p.chunksPerTick * wave
					if p.in {
						p.m.ChunksIn.Add(n)
						p.m.PixelsIn.Add(n * pixels)
						p.m.BytesIn.Add(n * pixels * p.bytesPerPixel)
					}
					if p.out {
						p.m.ChunksOut.Add(n)
						p.m.PixelsOut.Add(n * pixels)
						p.m.BytesOut.Add(n * pixels * p.bytesPerPixel)
					}
					p.m.BusyNs.Add(int64(dt * p.busy * float64(p.replicas)))
					p.m.BlockedNs.Add(int64(dt * p.blocked * float64(p.replicas)))
					p.m.InFlight.Store(p.inflight + int64(i%3))
					p.m.ObserveLatency(p.latency + time.Duration(i%10)*p.latency/10)
					if p.errorsEveryNth > 0 && i%p.errorsEveryNth == 0 {
						p.m.Errors.Add(1)
					}
				}
			}
		}
	}()
	return &wg
}

// TestDashboardHeadless loads the dashboard in headless Chromium while
// counters move, checks that the stage rows, the graph and the charts show
// the back-pressure scenario, and saves a screenshot.
func TestDashboardHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test skipped in -short mode")
	}
	bin := chromium(t)
	reg := &metrics.Registry{}
	stop := make(chan struct{})
	wg := driveBackPressure(reg, stop)
	defer func() { close(stop); wg.Wait() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := Serve(ctx, "127.0.0.1:0", reg, landcover(), Options{Interval: 200 * time.Millisecond, Gauges: func() []Gauge {
		return []Gauge{{Name: "rasterflow_gpu_pool_bytes_in_use", Labels: map[string]string{"device": "0"}, Value: 3.2e9}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Let a few seconds of history build up for the charts.
	eventually(t, 20*time.Second, "history", func() bool {
		h := srv.Sampler.History()
		return len(h) == 4 && len(h[0].Points) >= 12
	})

	dom := runChromium(t, bin, srv.URL(), "--virtual-time-budget=4000", "--dump-dom")
	polls := regexp.MustCompile(`<body[^>]*data-polls="(\d+)"`).FindStringSubmatch(dom)
	if polls == nil {
		t.Fatalf("dashboard never polled /api/stages:\n%s", dom[:min(len(dom), 3000)])
	}
	if n, _ := strconv.Atoi(polls[1]); n < 2 {
		t.Errorf("dashboard polled %d times, want at least 2", n)
	}
	rowRE := regexp.MustCompile(`<tr data-key="landcover/(\w+)" data-stage="\w+" data-state="([\w-]+)">(.*?)</tr>`)
	rows := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(dom, -1) {
		rows[m[1]] = m[2]
		if px := regexp.MustCompile(`<td class="pixels">([\d.]+)</td>`).FindStringSubmatch(m[3]); px == nil || px[1] == "0" {
			t.Errorf("stage %s shows no throughput: %s", m[1], m[3])
		}
	}
	want := map[string]string{"read": StateBackPressured, "dem": StateBackPressured, "classify": StateBusy, "write": StateOK}
	for id, st := range want {
		if rows[id] != st {
			t.Errorf("table row %s: state %q, want %q (rows %v)", id, rows[id], st, rows)
		}
		if !regexp.MustCompile(`<g class="node" data-stage="` + id + `" data-state="` + st + `"`).MatchString(dom) {
			t.Errorf("graph node %s is not drawn as %s", id, st)
		}
	}
	if n := strings.Count(dom, `class="edge"`); n != 3 {
		t.Errorf("graph has %d edges, want 3", n)
	}
	for _, id := range []string{"chart-throughput", "chart-backlog", "chart-blocked"} {
		m := regexp.MustCompile(`<canvas id="` + id + `" class="chart" [^>]*data-points="(\d+)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("chart %s not drawn", id)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n < 4*12 {
			t.Errorf("chart %s drew %d points, want the history (≥ %d)", id, n, 4*12)
		}
	}
	if !strings.Contains(dom, "rasterflow_gpu_pool_bytes_in_use") {
		t.Error("gauges table missing")
	}

	dir := os.Getenv("MONITOR_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "dashboard.png")
	runChromium(t, bin, srv.URL(), "--virtual-time-budget=3000", "--hide-scrollbars", "--window-size=1440,1180", "--screenshot="+shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("dashboard screenshot: %s", shot)
}

// TestDashboardClusterHeadless serves two workers' stages and checks the
// per-worker table and the stage totals over both.
func TestDashboardClusterHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("headless browser test skipped in -short mode")
	}
	bin := chromium(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now()
	srv, err := Serve(ctx, "127.0.0.1:0", Merge(backPressured("w1", t0), backPressured("w2", t0)), landcover(), Options{Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "rates", func() bool { return allRated(srv.Sampler.Latest().Workers) })
	dom := runChromium(t, bin, srv.URL(), "--virtual-time-budget=2000", "--dump-dom")
	workers := regexp.MustCompile(`<tr data-worker="(w\d)" data-stage="(\w+)" data-state="([\w-]+)">`).FindAllStringSubmatch(dom, -1)
	if len(workers) != 8 {
		t.Fatalf("workers table has %d rows, want 8", len(workers))
	}
	for _, m := range workers {
		if m[2] == "classify" && m[3] != StateBusy {
			t.Errorf("worker %s classify: state %q", m[1], m[3])
		}
	}
	if !regexp.MustCompile(`id="kpi-workers" class="value">2<`).MatchString(dom) {
		t.Error("workers KPI does not say 2")
	}
	// classify totals over both workers: 2 × 80 chunks/s in (counters are
	// whole numbers, so a 0.1 s interval rounds each worker's by up to 10/s).
	m := regexp.MustCompile(`data-stage="classify" data-state="busy">.*?<td class="chunks">([\d.]+)</td>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatal("no classify row")
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v < 140 || v > 180 {
		t.Errorf("classify row shows %v chunks/s over both workers, want about 160", v)
	}
}

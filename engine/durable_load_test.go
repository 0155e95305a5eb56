package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/transport"
)

// loadPipeline streams scene folders dropped into ${inbox} through
// indices (stateless, spread over the workers) into one COG per scene
// (scene-owned).
const loadPipeline = `
pipeline: load
stages:
  - {id: read, op: watch, with: {dir: "${inbox}", bands: [B02, B03, B04, B08], grid: B02, chunk: "${chunk}", interval: 100ms}}
  - {id: idx, op: indices, in: read, replicas: 2, with: {indices: [ndvi, ndwi], offset: -1000}}
  - {id: write, op: cog.write, in: idx, with: {out: "${out}/{scene}.tif", columns: [ndvi, ndwi]}}
`

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestDurableLoad streams scenes through a watched folder into a durable
// run: a source process (`rasterflow worker --stages read`) watches the
// inbox, and one, then two worker processes (`--stages idx,write`) do the
// work. Scene folders (`rasterflow synth`) are dropped one at a time with
// their _READY marker. The resident memory of every process (nats-server
// included) is sampled from /proc; the peaks while the first 10 and the
// last 10 scenes complete must stay close, i.e. memory stays flat. It logs
// scenes/s, Mpixel/s, redeliveries and peak memory per configuration, and
// the latency from a scene's _READY to its record done and the CPU time
// of each role.
//
// It takes half a minute or more (and its figures need a quiet machine),
// so it runs only with RASTERFLOW_LOAD=1:
//
//	RASTERFLOW_LOAD=1 go test ./engine -count=1 -run DurableLoad -v -timeout 20m
//
// RASTERFLOW_LOAD_SCENES (50), RASTERFLOW_LOAD_SIZE (512 pixels),
// RASTERFLOW_LOAD_CHUNK (256 pixels) and RASTERFLOW_LOAD_DROP_MS (50: time
// between two drops) change the load. The server's max_payload is 8 MiB,
// since chunks of four bands and two indices pass 1 MiB from 256×256 on.
func TestDurableLoad(t *testing.T) {
	if os.Getenv("RASTERFLOW_LOAD") == "" {
		t.Skip("load test: set RASTERFLOW_LOAD=1 to run it")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("load test samples memory from /proc (Linux only)")
	}
	n := envInt(t, "RASTERFLOW_LOAD_SCENES", 50)
	size := envInt(t, "RASTERFLOW_LOAD_SIZE", 512)
	chunk := envInt(t, "RASTERFLOW_LOAD_CHUNK", 256)
	drop := time.Duration(envInt(t, "RASTERFLOW_LOAD_DROP_MS", 50)) * time.Millisecond
	if n < 20 {
		t.Fatalf("RASTERFLOW_LOAD_SCENES=%d: want at least 20 (first and last 10 are compared)", n)
	}
	// Scene folders are made once, outside the inbox, and moved in.
	stage := t.TempDir()
	for i := range n {
		p := startRF(t, stage, "synth", filepath.Join(stage, fmt.Sprintf("scene-%03d", i)), "--size", strconv.Itoa(size), "--seed", strconv.Itoa(i+1))
		if err := p.wait(t, time.Minute); err != nil {
			t.Fatalf("synth: %v\n%s", err, p.output())
		}
	}
	var rows []loadResult
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			rows = append(rows, loadRun(t, stage, n, size, chunk, workers, drop))
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d scenes of %d×%d (4 bands, %d×%d chunks), dropped every %v; peak RSS in MiB while the first / last 10 scenes completed\n",
		n, size, size, chunk, chunk, drop)
	fmt.Fprintf(&b, "%-8s %9s %9s %9s %12s %18s %18s %18s\n", "workers", "wall", "scenes/s", "Mpixel/s", "redeliveries", "source first/last", "workers first/last", "nats first/last")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-8d %8.1fs %9.2f %9.2f %12d %8.1f / %-7.1f %8.1f / %-7.1f %8.1f / %-7.1f\n", r.workers, r.wall.Seconds(),
			float64(n)/r.wall.Seconds(), float64(n*size*size)/1e6/r.wall.Seconds(), r.redeliveries,
			r.first["source"], r.last["source"], r.first["workers"], r.last["workers"], r.first["nats"], r.last["nats"])
	}
	fmt.Fprintf(&b, "\n%-8s %14s %14s %28s\n", "workers", "latency p50", "latency max", "CPU s source/workers/nats")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-8d %13.2fs %13.2fs %12.1f / %5.1f / %5.1f\n", r.workers, r.latP50.Seconds(), r.latMax.Seconds(),
			r.cpu["source"], r.cpu["workers"], r.cpu["nats"])
	}
	t.Logf("load test:\n%s", b.String())
}

type loadResult struct {
	workers        int
	wall           time.Duration
	redeliveries   int
	latP50, latMax time.Duration      // from a scene's _READY to its record done
	cpu            map[string]float64 // CPU seconds per role
	first, last    map[string]float64 // peak RSS (MiB) per role
}

// rssSample is the resident memory of the processes of each role at one
// time (the largest worker's for "workers").
type rssSample struct {
	at  time.Time
	mib map[string]float64
}

func vmRSS(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		return 0
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}

func loadRun(t *testing.T, stage string, n, size, chunk, workers int, drop time.Duration) loadResult {
	dir := t.TempDir()
	conf := filepath.Join(dir, "server.conf")
	if err := os.WriteFile(conf, []byte("max_payload: 8MB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startNATS(t, "-c", conf)
	inbox, out := filepath.Join(dir, "inbox"), filepath.Join(dir, "out")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	file := writePipeline(t, dir, loadPipeline)
	const run = "load"
	common := []string{file, "--nats", srv.URL(), "--run", run, "--set", "inbox=" + inbox, "--set", "out=" + out, "--set", "chunk=" + strconv.Itoa(chunk)}
	var ws []*proc
	for range workers {
		ws = append(ws, startRF(t, dir, append([]string{"worker", "--stages", "idx,write"}, common...)...))
	}
	src := startRF(t, dir, append([]string{"worker", "--stages", "read"}, common...)...)

	// Memory, sampled every 100 ms until the run is over.
	var (
		mu      sync.Mutex
		samples []rssSample
	)
	sampling, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			s := rssSample{at: time.Now(), mib: map[string]float64{"source": vmRSS(src.cmd.Process.Pid), "nats": vmRSS(srv.cmd.Process.Pid)}}
			for _, w := range ws {
				s.mib["workers"] = max(s.mib["workers"], vmRSS(w.cmd.Process.Pid))
			}
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			select {
			case <-sampling.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// Completion times of the scenes, from the state bucket.
	doneAt := watchDone(t, srv.URL(), "load", run, n, src)
	start := time.Now()
	dropped := make([]time.Time, n)
	for i := range n {
		name := fmt.Sprintf("scene-%03d", i)
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(inbox, name)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inbox, name, "_READY"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		dropped[i] = time.Now()
		time.Sleep(drop)
	}
	var st sceneTimes
	select {
	case st = <-doneAt:
	case <-time.After(10 * time.Minute):
		t.Fatalf("scenes not done after 10 minutes; source:\n%s", src.output())
	}
	times := st.order
	wall := times[len(times)-1].Sub(start)
	stopSampling()
	<-sampled
	cpu := map[string]float64{"source": cpuSeconds(src.cmd.Process.Pid), "nats": cpuSeconds(srv.cmd.Process.Pid)}
	for _, w := range ws {
		cpu["workers"] += cpuSeconds(w.cmd.Process.Pid)
	}
	var lat []time.Duration
	for i := range n {
		lat = append(lat, st.by[fmt.Sprintf("scene-%03d", i)].Sub(dropped[i]))
	}
	slices.Sort(lat)
	// Hand the scene folders back for the next configuration.
	for i := range n {
		name := fmt.Sprintf("scene-%03d", i)
		os.Remove(filepath.Join(inbox, name, "_READY"))
		if err := os.Rename(filepath.Join(inbox, name), filepath.Join(stage, name)); err != nil {
			t.Fatal(err)
		}
	}

	// A watching source runs until stopped: SIGTERM everything.
	redeliveries := 0
	for _, p := range append([]*proc{src}, ws...) {
		p.signal(syscall.SIGTERM)
	}
	for _, p := range append([]*proc{src}, ws...) {
		if err := p.wait(t, time.Minute); err != nil {
			t.Fatalf("%v: %v\n%s", p.cmd.Args[1:3], err, p.output())
		}
		if m := regexp.MustCompile(`redeliveries: (\d+)`).FindStringSubmatch(p.output()); m != nil {
			k, _ := strconv.Atoi(m[1])
			redeliveries += k
		}
	}
	recs := sceneStates(t, srv.URL(), "load", run)
	if len(recs) != n || countState(recs, engine.SceneDone) != n {
		t.Fatalf("%d scene records, %d done, want %d", len(recs), countState(recs, engine.SceneDone), n)
	}
	tifs, _ := filepath.Glob(filepath.Join(out, "*.tif"))
	if len(tifs) != n {
		t.Fatalf("%d outputs, want %d", len(tifs), n)
	}

	// Peaks while the first 10 and the last 10 scenes completed.
	peak := func(from, to time.Time) map[string]float64 {
		p := map[string]float64{}
		for _, s := range samples {
			if s.at.Before(from) || s.at.After(to) {
				continue
			}
			for k, v := range s.mib {
				p[k] = max(p[k], v)
			}
		}
		return p
	}
	r := loadResult{workers: workers, wall: wall, redeliveries: redeliveries, cpu: cpu,
		latP50: lat[n/2], latMax: lat[n-1],
		first: peak(start, times[9]), last: peak(times[n-11], times[n-1])}
	for _, role := range []string{"source", "workers", "nats"} {
		f, l := r.first[role], r.last[role]
		t.Logf("%s: peak RSS %.1f MiB (first 10 scenes), %.1f MiB (last 10)", role, f, l)
		// Flat: a little growth (heap sizing, caches) but nothing that
		// scales with the number of scenes.
		if f == 0 || l > 1.5*f+16 {
			t.Errorf("%s: memory grew from %.1f MiB to %.1f MiB", role, f, l)
		}
	}
	t.Logf("%d workers: %d scenes in %v: %.2f scenes/s, %.2f Mpixel/s, %d redeliveries", workers, n, wall.Round(time.Millisecond),
		float64(n)/wall.Seconds(), float64(n*size*size)/1e6/wall.Seconds(), redeliveries)
	return r
}

// watchDone watches the run's scene records and sends, once n scenes are
// done, the times at which scenes became done, in order, and by scene.
func watchDone(t *testing.T, url, pipeline, run string, n int, src *proc) <-chan sceneTimes {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	names := transport.Names{Pipeline: pipeline, Run: run}
	var kv jetstream.KeyValue
	waitFor(t, 30*time.Second, "the state bucket", func() bool {
		select {
		case <-src.done:
			t.Fatalf("source exited: %v\n%s", src.err, src.output())
		default:
		}
		kv, err = js.KeyValue(ctx, names.Bucket())
		return err == nil
	})
	w, err := kv.Watch(ctx, transport.Token(run)+".scene.>")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan sceneTimes, 1)
	go func() {
		defer w.Stop()
		st := sceneTimes{by: map[string]time.Time{}}
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			var r engine.SceneRecord
			if json.Unmarshal(e.Value(), &r) != nil || r.State != engine.SceneDone {
				continue
			}
			if _, ok := st.by[r.Scene]; !ok {
				now := time.Now()
				st.by[r.Scene] = now
				st.order = append(st.order, now)
			}
			if len(st.order) == n {
				ch <- st
				return
			}
		}
	}()
	return ch
}

type sceneTimes struct {
	order []time.Time
	by    map[string]time.Time
}

// cpuSeconds is the CPU time (user + system) a process used so far (Linux;
// clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/transport"
)

// BenchmarkDurableWorkers runs 20 synthetic 512×512 scenes in 256×256 chunks (read → ndvi →
// COG) through one, then two `rasterflow worker` processes on one
// nats-server; a source-only process emits the scenes and ends the run.
// It reports scenes/s, Mpixel/s, redeliveries and the workers' peak RSS.
//
//	go test ./engine -run '^$' -bench DurableWorkers -benchtime 1x
func BenchmarkDurableWorkers(b *testing.B) {
	const scenes, size = 20, 512
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			srv := startNATS(b)
			var wall time.Duration
			var redeliveries int
			var rss float64
			for i := range b.N {
				dir := b.TempDir()
				file := writePipeline(b, dir, scenePipeline)
				run := fmt.Sprintf("bench-%d-%d", workers, i)
				common := []string{file, "--nats", srv.URL(), "--run", run, "--set", "read.chunk=256", "--set", "scenes=" + synthScenes(scenes, size), "--set", "out=" + filepath.Join(dir, "out")}
				var ws []*proc
				for range workers {
					ws = append(ws, startRF(b, dir, append([]string{"worker", "--stages", "idx,write"}, common...)...))
				}
				start := time.Now()
				src := startRF(b, dir, append([]string{"worker", "--stages", "read"}, common...)...)
				if err := src.wait(b, 5*time.Minute); err != nil {
					b.Fatalf("source: %v\n%s", err, src.output())
				}
				wall += time.Since(start)
				for _, w := range ws {
					if err := w.wait(b, time.Minute); err != nil {
						b.Fatalf("worker: %v\n%s", err, w.output())
					}
					if m := regexp.MustCompile(`redeliveries: (\d+)`).FindStringSubmatch(w.output()); m != nil {
						n, _ := strconv.Atoi(m[1])
						redeliveries += n
					}
					rss = max(rss, w.peakRSS())
				}
			}
			sec := wall.Seconds() / float64(b.N)
			b.ReportMetric(scenes/sec, "scenes/s")
			b.ReportMetric(float64(scenes*size*size)/1e6/sec, "Mpixel/s")
			b.ReportMetric(float64(redeliveries)/float64(b.N), "redeliveries")
			b.ReportMetric(rss, "peakRSS-MiB")
		})
	}
}

// BenchmarkDurableSceneLatency measures the fixed cost of a scene in a
// durable run: 40 tiny scenes (64×64, one chunk) go through read → ndvi →
// COG in this process against a real nats-server, the COG stage taking
// one scene at a time, so each scene's round there — claim, lease,
// consumer, state records, output, clean-up — is on the critical path.
// ms/scene is the time between the first and the last scene recorded
// done (watched in the state bucket) over the scenes in between, so it
// leaves out the start and end of the run, which run-ms includes.
//
//	go test ./engine -run '^$' -bench DurableSceneLatency -benchtime 3x
func BenchmarkDurableSceneLatency(b *testing.B) {
	const scenes = 40
	srv := startNATS(b)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var steady, whole time.Duration
	for i := range b.N {
		run := fmt.Sprintf("lat-%d", i)
		p := loadDurable(b, scenePipeline, map[string]string{"scenes": synthScenes(scenes, 64), "out": b.TempDir()}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		names := transport.Names{Pipeline: p.Name, Run: run}
		kv, err := transport.SetupJetStream(ctx, js, names, []string{"idx", "write"}, transport.JetStreamOptions{})
		if err != nil {
			b.Fatal(err)
		}
		w, err := kv.Watch(ctx, transport.Token(run)+".scene.>", jetstream.UpdatesOnly())
		if err != nil {
			b.Fatal(err)
		}
		var first, last time.Time
		seen := map[string]bool{}
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for e := range w.Updates() {
				var r engine.SceneRecord
				if e == nil || json.Unmarshal(e.Value(), &r) != nil || r.State != engine.SceneDone || seen[r.Scene] {
					continue
				}
				seen[r.Scene] = true
				if len(seen) == 1 {
					first = time.Now()
				}
				if len(seen) == scenes {
					last = time.Now()
					return
				}
			}
		}()
		start := time.Now()
		err = engine.Run(ctx, ctx, p, engine.Options{Conn: nc, RunID: run, Log: func(string, ...any) {},
			Durable: &engine.DurableOptions{ScenesPerWorker: 1}})
		whole += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		<-watched
		w.Stop()
		cancel()
		steady += last.Sub(first)
	}
	b.ReportMetric(steady.Seconds()*1000/float64(b.N*(scenes-1)), "ms/scene")
	b.ReportMetric(whole.Seconds()*1000/float64(b.N), "run-ms")
}

package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/engine"
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
// durable run: 20 tiny scenes (64×64, one chunk) go through read → ndvi →
// COG in this process against a real nats-server, the COG stage taking
// one scene at a time, so each scene's round there — claim, lease,
// consumer, state records, output, clean-up — is on the critical path.
// It reports ms/scene.
//
//	go test ./engine -run '^$' -bench DurableSceneLatency -benchtime 3x
func BenchmarkDurableSceneLatency(b *testing.B) {
	const scenes = 20
	srv := startNATS(b)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p := loadDurable(b, scenePipeline, map[string]string{"scenes": synthScenes(scenes, 64), "out": b.TempDir()}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		b.StartTimer()
		err := engine.Run(ctx, ctx, p, engine.Options{Conn: nc, RunID: fmt.Sprintf("lat-%d", i), Log: func(string, ...any) {},
			Durable: &engine.DurableOptions{ScenesPerWorker: 1}})
		b.StopTimer()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec/scenes*1000, "ms/scene")
	b.ReportMetric(scenes/sec, "scenes/s")
}

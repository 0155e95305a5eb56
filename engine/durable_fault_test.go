package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
)

// writePipeline writes the durable test pipeline into dir.
func writePipeline(t testing.TB, dir, yaml string) string {
	t.Helper()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFor polls cond until it holds or timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func countState(st map[string]engine.SceneRecord, state string) int {
	n := 0
	for _, r := range st {
		if r.State == state {
			n++
		}
	}
	return n
}

// TestWorkerKillAndNodeRestart runs 12 scenes on a 3-node JetStream
// cluster (R3 streams) with the run process and two `rasterflow worker`
// processes; one worker is killed with SIGKILL in the middle of the run
// and one NATS node is killed and restarted. Every scene must complete
// and every output must be byte-identical to the in-process engine's.
func TestWorkerKillAndNodeRestart(t *testing.T) {
	nodes := startCluster(t)
	url := clusterURL(nodes)
	const n = 12
	vars := map[string]string{"scenes": synthScenes(n, 256)}
	want := localReference(t, durablePipeline, vars)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writePipeline(t, dir, durablePipeline)
	args := func(cmd string, extra ...string) []string {
		a := []string{cmd, file, "--nats", url, "--run", "kill", "--js-replicas", "3", "--ack-wait", "2s", "--set", "scenes=" + vars["scenes"], "--set", "out=" + out}
		return append(a, extra...)
	}
	w1 := startRF(t, dir, args("worker", "--stages", "idx,write,stats")...)
	w2 := startRF(t, dir, args("worker", "--stages", "idx,write")...)
	run := startRF(t, dir, args("run", "--quiet")...)

	// Kill worker 1 once it wrote a scene: it then holds others.
	// (Or once two scenes are written anywhere: the others may have
	// claimed every write so far.)
	waitFor(t, 60*time.Second, "worker 1 to write a scene", func() bool {
		m, _ := filepath.Glob(filepath.Join(out, "*.tif"))
		return strings.Contains(w1.output(), "wrote ") || len(m) >= 2
	})
	w1.cmd.Process.Kill()
	<-w1.done
	t.Logf("killed worker 1 after: %s", lastLine(w1.output()))
	// Restart one node (not the first URL, so clients move).
	waitFor(t, 60*time.Second, "more scenes", func() bool {
		m, _ := filepath.Glob(filepath.Join(out, "*.tif"))
		return len(m) >= 4
	})
	nodes[2].kill()
	time.Sleep(time.Second)
	nodes[2].start()
	diag := func() string {
		w2.signal(syscall.SIGQUIT) // a goroutine dump in its output
		time.Sleep(2 * time.Second)
		return fmt.Sprintf("\nscene states: %+v\nworker 2:\n%s\n%s", sceneStates(t, nodes[0].URL(), "dt", "kill"), w2.output(), jsDump(nodes[0].URL(), "dt", "kill"))
	}
	if err := run.waitDiag(t, 180*time.Second, diag); err != nil {
		t.Fatalf("run: %v\n%s%s", err, run.output(), diag())
	}
	if err := w2.wait(t, 20*time.Second); err != nil {
		t.Fatalf("worker 2: %v\n%s", err, w2.output())
	}
	st := sceneStates(t, nodes[0].URL(), "dt", "kill")
	if len(st) != n || countState(st, engine.SceneDone) != n {
		t.Fatalf("scene states: %+v", st)
	}
	sameFiles(t, want, out)
	t.Logf("run output:\n%s", run.output())
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// scenePipeline has no run-wide stage: a scene is done as soon as its COG
// is written. (With a run-wide final stage such as stats, scenes are done
// only when that stage finished, since its state is lost on a stop.)
var scenePipeline = strings.ReplaceAll(durablePipeline,
	`  - {id: stats, op: stats, in: idx, with: {out: "${out}/stats.json", columns: [ndvi], bins: 10}}
`, "")

// TestSIGTERMResume stops a run with SIGTERM: it must exit 0, and a
// restart must finish the remaining scenes without touching the finished
// ones (same modification times, skipped at the source).
func TestSIGTERMResume(t *testing.T) {
	srv := startNATS(t)
	const n = 10
	vars := map[string]string{"scenes": synthScenes(n, 256)}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writePipeline(t, dir, scenePipeline)
	args := []string{"run", file, "--nats", srv.URL(), "--run", "term", "--quiet", "--set", "scenes=" + vars["scenes"], "--set", "out=" + out}
	run := startRF(t, dir, args...)
	waitFor(t, 60*time.Second, "3 scenes done", func() bool {
		return countState(sceneStates(t, srv.URL(), "dt", "term"), engine.SceneDone) >= 3
	})
	run.signal(syscall.SIGTERM)
	if err := run.wait(t, 60*time.Second); err != nil {
		t.Fatalf("stopped run exited with %v:\n%s", err, run.output())
	}
	st := sceneStates(t, srv.URL(), "dt", "term")
	done := map[string]time.Time{}
	for s, r := range st {
		if r.State == engine.SceneDone {
			fi, err := os.Stat(filepath.Join(out, s+".tif"))
			if err != nil {
				t.Fatalf("scene %s is done but: %v", s, err)
			}
			done[s] = fi.ModTime()
		}
	}
	if len(done) == n {
		t.Skip("the run finished before SIGTERM took effect")
	}
	t.Logf("stopped with %d of %d scenes done", len(done), n)
	time.Sleep(20 * time.Millisecond) // modification times would differ
	again := startRF(t, dir, args...)
	if err := again.wait(t, 90*time.Second); err != nil {
		t.Fatalf("restart: %v\n%s", err, again.output())
	}
	st = sceneStates(t, srv.URL(), "dt", "term")
	if countState(st, engine.SceneDone) != n {
		t.Fatalf("after restart: %+v", st)
	}
	for s, mt := range done {
		fi, err := os.Stat(filepath.Join(out, s+".tif"))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(mt) {
			t.Fatalf("scene %s was written again by the restart", s)
		}
		if !strings.Contains(again.output(), "scene "+s+": already done, skipped") {
			t.Fatalf("restart did not skip scene %s:\n%s", s, again.output())
		}
	}
	sameFiles(t, localReference(t, scenePipeline, vars), out)
}

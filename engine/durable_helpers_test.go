package engine_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// natsVersion is the nats-server module version in go.mod; the binary is
// cached per version.
const natsVersion = "v2.15.2"

var (
	buildOnce   sync.Once
	natsBin     string
	rfBin       string
	buildErr    error
	rfBuildDir  string
	helperTemps []string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if rfBuildDir != "" {
		os.RemoveAll(rfBuildDir)
	}
	os.Exit(code)
}

// binaries builds nats-server (cached under the user cache directory) and
// the rasterflow command (once per test binary).
func binaries(t testing.TB) (natsServer, rasterflow string) {
	t.Helper()
	if testing.Short() {
		t.Skip("durable tests start real nats-server and rasterflow processes; skipped with -short")
	}
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go tool: %v", err)
			return
		}
		natsBin = os.Getenv("RASTERFLOW_NATS_SERVER")
		if natsBin == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				cache = os.TempDir()
			}
			natsBin = filepath.Join(cache, "rasterflow-test", "nats-server-"+natsVersion, "nats-server")
			if _, err := os.Stat(natsBin); err != nil {
				cmd := exec.Command(goTool, "build", "-o", natsBin, "github.com/nats-io/nats-server/v2")
				cmd.Dir = ".."
				if out, err := cmd.CombinedOutput(); err != nil {
					buildErr = fmt.Errorf("go build nats-server: %v\n%s", err, out)
					return
				}
			}
		}
		rfBuildDir, err = os.MkdirTemp("", "rasterflow-bin-")
		if err != nil {
			buildErr = err
			return
		}
		rfBin = filepath.Join(rfBuildDir, "rasterflow")
		cmd := exec.Command(goTool, "build", "-o", rfBin, "./cmd/rasterflow")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build rasterflow: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return natsBin, rfBin
}

// freePort returns a port free on loopback, below Linux's ephemeral range
// (32768-60999): a port the kernel handed out for ":0" can be taken again
// by any outgoing connection before a server restarted on it binds it.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// natsProc is a nats-server process with JetStream.
type natsProc struct {
	t      testing.TB
	bin    string
	args   []string
	port   int
	cmd    *exec.Cmd
	log    *os.File
	name   string
	exited chan struct{}
}

func (n *natsProc) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsProc) start() {
	n.t.Helper()
	n.cmd = exec.Command(n.bin, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(n.cmd, n.exited)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-n.exited:
			deadline = time.Now() // it will not listen: report its log
		case <-time.After(50 * time.Millisecond):
		}
	}
	logText, _ := os.ReadFile(n.log.Name())
	n.t.Fatalf("nats-server %s did not listen on %d; its log:\n%s", n.name, n.port, logText)
}

// kill stops the server with SIGKILL.
func (n *natsProc) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// startNATS starts one nats-server with JetStream; extra adds flags (auth).
func startNATS(t testing.TB, extra ...string) *natsProc {
	bin, _ := binaries(t)
	dir := t.TempDir()
	port := freePort(t)
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	n := &natsProc{t: t, bin: bin, port: port, log: log, name: "single",
		args: append([]string{"-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, "js"), "-n", "single"}, extra...)}
	n.start()
	t.Cleanup(func() { n.kill(); log.Close() })
	return n
}

// startCluster starts three nats-servers routed into one JetStream cluster.
func startCluster(t testing.TB) []*natsProc {
	bin, _ := binaries(t)
	var cports []int
	for range 3 {
		cports = append(cports, freePort(t))
	}
	var routes []string
	for _, p := range cports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var nodes []*natsProc
	for i := range 3 {
		dir := t.TempDir()
		port := freePort(t)
		log, err := os.Create(filepath.Join(dir, "server.log"))
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("n%d", i)
		n := &natsProc{t: t, bin: bin, port: port, log: log, name: name, args: []string{
			"-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, "js"), "-n", name,
			"--cluster_name", "rf", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", cports[i]), "--routes", strings.Join(routes, ","),
		}}
		nodes = append(nodes, n)
		t.Cleanup(func() { n.kill(); log.Close() })
	}
	for _, n := range nodes {
		n.start()
	}
	// Wait for JetStream's meta leader.
	nc, err := nats.Connect(clusterURL(nodes))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := nc.Request("$JS.API.INFO", nil, time.Second)
		if err == nil && !strings.Contains(string(m.Data), `"error":{`) {
			return nodes
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("JetStream cluster did not elect a leader")
	return nil
}

func clusterURL(nodes []*natsProc) string {
	var u []string
	for _, n := range nodes {
		u = append(u, n.URL())
	}
	return strings.Join(u, ",")
}

// proc is a rasterflow process.
type proc struct {
	cmd  *exec.Cmd
	out  *strings.Builder
	done chan struct{}
	err  error
	mu   sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startRF starts `rasterflow ARGS...` in dir.
func startRF(t testing.TB, dir string, args ...string) *proc {
	_, bin := binaries(t)
	p := &proc{out: &strings.Builder{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	w := lockedWriter{&p.mu, p.out}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits for the process to exit, failing the test after timeout.
func (p *proc) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	return p.waitDiag(t, timeout, nil)
}

// waitDiag is wait that adds diag() to the failure when the process hangs.
func (p *proc) waitDiag(t testing.TB, timeout time.Duration, diag func() string) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		extra := ""
		if diag != nil {
			extra = diag()
			// A goroutine dump of the hung process, in its output.
			p.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-p.done:
			case <-time.After(3 * time.Second):
			}
		}
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("rasterflow %v did not exit within %v; output:\n%s%s", p.cmd.Args[1:], timeout, p.output(), extra)
		return nil
	}
}

func (p *proc) signal(s syscall.Signal) { p.cmd.Process.Signal(s) }

// peakRSS is the process's peak resident set in MiB (Linux).
func (p *proc) peakRSS() float64 {
	if p.cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && runtime.GOOS == "linux" {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}

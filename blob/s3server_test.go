package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The S3 tests run against Versity S3 Gateway (github.com/versity/versitygw),
// a real S3 server that validates SigV4 signatures, with its POSIX backend
// in a temporary directory, as a separate process on 127.0.0.1.
//
// The binary is taken from $RASTERFLOW_VERSITYGW if set; otherwise it is
// built once with `go install` (module proxy or module cache needed; about
// 1-2 minutes) into the user cache directory and reused by later runs.
const (
	versityModule  = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"
	versityVersion = "v1.8.0"
	s3AccessKey    = "rasterflowtest"
	s3SecretKey    = "rasterflow/secret+key"
)

var s3srv struct {
	once     sync.Once
	endpoint string // http://127.0.0.1:port
	port     string
	proc     *os.Process
	exited   chan error
	dir      string
	err      error
}

// s3Server returns the endpoint of the shared test server, starting it on
// first use.
func s3Server(t testing.TB) string {
	t.Helper()
	s3srv.once.Do(func() { s3srv.err = startS3Server() })
	if s3srv.err != nil {
		t.Fatalf("S3 test server: %v", s3srv.err)
	}
	return s3srv.endpoint
}

func stopS3Server() {
	if s3srv.proc != nil {
		s3srv.proc.Kill()
		<-s3srv.exited
	}
	if s3srv.dir != "" {
		os.RemoveAll(s3srv.dir)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopS3Server()
	os.Exit(code)
}

func versityBinary() (string, error) {
	if p := os.Getenv("RASTERFLOW_VERSITYGW"); p != "" {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "rasterflow-test", "versitygw-"+versityVersion)
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go tool to build versitygw (set RASTERFLOW_VERSITYGW): %v", err)
	}
	tmp, err := os.MkdirTemp(cache, "versitygw-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(goTool, "install", versityModule)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", versityModule, err, out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

func startS3Server() error {
	bin, err := versityBinary()
	if err != nil {
		return err
	}
	s3srv.dir, err = os.MkdirTemp("", "blob-s3-")
	if err != nil {
		return err
	}
	root, side := filepath.Join(s3srv.dir, "root"), filepath.Join(s3srv.dir, "meta")
	for _, d := range []string{root, side} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	_, s3srv.port, _ = net.SplitHostPort(addr)
	var log bytes.Buffer
	cmd := exec.Command(bin, "--access", s3AccessKey, "--secret", s3SecretKey, "--port", addr,
		"--region", "us-east-1", "--virtual-domain", "localhost", "--quiet",
		"posix", "--sidecar", side, root)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = []string{"HOME=" + s3srv.dir}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v\n%s", err, log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			s3srv.endpoint = "http://" + addr
			s3srv.proc, s3srv.exited = cmd.Process, exited
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("versitygw did not listen on %s within 20 s\n%s", addr, log.String())
}

// s3Put sends a signed PUT (bucket creation, object upload, bucket policy)
// to the test server with path-style addressing.
func s3Put(t testing.TB, endpoint, path string, body []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	signV4(req, credentials{AccessKeyID: s3AccessKey, SecretAccessKey: s3SecretKey}, "us-east-1", "s3", time.Now(), hex.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %v", path, httpError(resp))
	}
}

// s3Fixture creates bucket (once per bucket name per process) and uploads
// objects to it.
var s3Buckets sync.Map

func s3Fixture(t testing.TB, bucket string, objects map[string][]byte) string {
	endpoint := s3Server(t)
	if _, loaded := s3Buckets.LoadOrStore(bucket, true); !loaded {
		s3Put(t, endpoint, "/"+bucket, nil)
	}
	for key, data := range objects {
		s3Put(t, endpoint, "/"+bucket+"/"+strings.TrimPrefix(uriEncode(key, true), "/"), data)
	}
	return endpoint
}

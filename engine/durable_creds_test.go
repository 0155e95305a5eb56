package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/transport"
)

// TestCredentials connects to real servers that require a user/password
// or a token, with transport.ConnOptions, and runs a pipeline through the
// command's --user/--password flags.
func TestCredentials(t *testing.T) {
	users := startNATS(t, "--user", "rf", "--pass", "s3cret")
	tokens := startNATS(t, "--auth", "tok-123")
	for _, c := range []struct {
		name string
		url  string
		o    transport.ConnOptions
		ok   bool
	}{
		{"user", users.URL(), transport.ConnOptions{User: "rf", Password: "s3cret"}, true},
		{"wrong password", users.URL(), transport.ConnOptions{User: "rf", Password: "nope"}, false},
		{"no credentials", users.URL(), transport.ConnOptions{}, false},
		{"token", tokens.URL(), transport.ConnOptions{Token: "tok-123"}, true},
		{"wrong token", tokens.URL(), transport.ConnOptions{Token: "tok-124"}, false},
	} {
		nc, err := transport.Connect(c.url, c.o)
		if (err == nil) != c.ok {
			t.Fatalf("%s: err = %v, want success %v", c.name, err, c.ok)
		}
		if err == nil {
			if _, err := nc.JetStream(); err != nil {
				t.Fatal(err)
			}
			nc.Close()
		}
	}
	if _, err := (transport.ConnOptions{User: "a", Token: "b"}).Options(); err == nil {
		t.Fatal("user and token together accepted")
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writePipeline(t, dir, scenePipeline)
	run := startRF(t, dir, "run", file, "--nats", users.URL(), "--user", "rf", "--password", "s3cret", "--quiet",
		"--set", "scenes="+synthScenes(2, 128), "--set", "out="+out)
	if err := run.wait(t, 60*time.Second); err != nil {
		t.Fatalf("run with credentials: %v\n%s", err, run.output())
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.tif")); len(m) != 2 {
		t.Fatalf("wrote %v", m)
	}
	bad := startRF(t, dir, "run", file, "--nats", users.URL(), "--user", "rf", "--password", "x", "--quiet", "--set", "scenes=synth://64/1", "--set", "out="+out)
	if err := bad.wait(t, 30*time.Second); err == nil || !strings.Contains(strings.ToLower(bad.output()), "authorization") {
		t.Fatalf("wrong password: %v\n%s", err, bad.output())
	}
}

// TestValidateKnowsMaxPayload checks that `run --nats` validates chunk
// sizes against the server's max_payload.
func TestValidateKnowsMaxPayload(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "small.conf")
	if err := os.WriteFile(conf, []byte("max_payload: 65536\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startNATS(t, "-c", conf)
	file := writePipeline(t, dir, scenePipeline) // 64×64 chunks of two bands pass; 512×512 do not
	run := startRF(t, dir, "run", file, "--nats", srv.URL(), "--quiet", "--set", "scenes=synth://1024/1", "--set", "read.chunk=512", "--set", "out="+dir)
	if err := run.wait(t, 30*time.Second); err == nil || !strings.Contains(run.output(), "over the transport's message limit of 0.1 MiB") {
		t.Fatalf("oversized chunks not refused: %v\n%s", err, run.output())
	}
}

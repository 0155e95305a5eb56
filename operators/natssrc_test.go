package operators

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/transport"
)

func TestNATSSource(t *testing.T) {
	src, err := filepath.Abs(realS2(t))
	if err != nil {
		t.Fatal(err)
	}
	ref := readFolder(t, src, watchBands, map[string]any{"chunk": 1024})
	defer ref.release()
	srv, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	pub, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	state := filepath.Join(t.TempDir(), "nats-state.json")
	values := map[string]any{"url": srv.ClientURL(), "subject": "scenes.>", "bands": watchBands, "chunk": 1024, "state": state}
	c := newSceneCollector()
	defer c.release()
	run := startSource(newTestProducer(t, natsSpec, values), c.emit)

	// The source subscribes in Run: publish until the scene is read (and so
	// also check that repeats of a notification are read once).
	publishUntil := func(subject string, msg any, scenes int) {
		t.Helper()
		data, err := json.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "scene from "+string(data), func() bool {
			if err := pub.Publish(subject, data); err != nil {
				t.Fatal(err)
			}
			return len(c.complete()) >= scenes
		})
	}
	// Not a notification: logged and skipped, the source goes on.
	if err := pub.Publish("scenes.junk", []byte("{oops")); err != nil {
		t.Fatal(err)
	}
	// Assets by band name or earth-search asset key (scl).
	publishUntil("scenes.new", map[string]any{"id": "by-assets", "assets": map[string]string{
		"B11": filepath.Join(src, "B11.tif"), "scl": filepath.Join(src, "SCL.tif"), "B02": filepath.Join(src, "B02.tif")}}, 1)
	publishUntil("scenes.new", map[string]any{"dir": src}, 2)
	publishUntil("scenes.new", map[string]any{"dir": src, "id": "dir-with-id"}, 3)
	for range 5 { // repeats of read scenes are ignored
		if err := pub.Publish("scenes.new", []byte(`{"dir": "`+src+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	publishUntil("scenes.new", map[string]any{"dir": src, "id": "last"}, 4)
	if err := run.stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	want := []string{"by-assets", "s2-l2a-29rkh", "dir-with-id", "last"}
	if got := c.complete(); !sameStrings(got, want) {
		t.Fatalf("scenes %v, want %v", got, want)
	}
	for _, s := range want {
		if n := c.count(s); n != 1 {
			t.Errorf("scene %s: %d chunks, want 1 (read once)", s, n)
		}
		sameScene(t, c, s, ref, "s2-l2a-29rkh")
	}

	// A restart with the state file skips what was read.
	c2 := newSceneCollector()
	defer c2.release()
	run = startSource(newTestProducer(t, natsSpec, values), c2.emit)
	waitUntil(t, "a new scene after restart", func() bool {
		for _, id := range []string{"by-assets", "last", "after-restart"} {
			if err := pub.Publish("scenes.new", []byte(`{"dir": "`+src+`", "id": "`+id+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		return len(c2.complete()) >= 1
	})
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := c2.complete(); !sameStrings(got, []string{"after-restart"}) {
		t.Fatalf("after restart read %v", got)
	}
}

func TestNATSSourceReadError(t *testing.T) {
	srv, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	pub, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	missing := filepath.Join(t.TempDir(), "nowhere")
	run := startSource(newTestProducer(t, natsSpec, map[string]any{"url": srv.ClientURL(), "subject": "s", "bands": watchBands}), newSceneCollector().emit)
	var runErr error
	waitUntil(t, "the run to fail", func() bool {
		if err := pub.Publish("s", []byte(`{"dir": "`+missing+`"}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case runErr = <-run.done:
			return true
		default:
			return false
		}
	})
	if runErr == nil || !containsAll(runErr.Error(), "scene nowhere", "band B11", filepath.Join(missing, "B11.tif")) {
		t.Fatalf("unreadable scene: %v", runErr)
	}
}

func TestNATSParseBucketEvents(t *testing.T) {
	cfg := mustSourceConfig(t, natsSpec, map[string]any{"url": "nats://127.0.0.1:1", "subject": "s", "bands": []string{"B04", "SCL"},
		"files": map[string]string{"SCL": "mask/SCL.tif"}})
	n, err := newNATSSource(cfg, op.Env{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	// An S3 notification (AWS layout; MinIO sends the same Records) for
	// a marker whose key is URL-encoded, and one for a band file.
	event := `{"Records": [
	  {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
	   "s3": {"bucket": {"name": "scenes"}, "object": {"key": "2024/tile+29RKH/S2A_20240601/_READY", "size": 0}}},
	  {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "scenes"}, "object": {"key": "2024/tile+29RKH/S2A_20240601/B04.tif"}}},
	  {"eventName": "s3:ObjectRemoved:Delete", "s3": {"bucket": {"name": "scenes"}, "object": {"key": "2024/old/_READY"}}}
	]}`
	refs, err := n.parse([]byte(event))
	if err != nil {
		t.Fatal(err)
	}
	want := []sceneRef{{ID: "S2A_20240601", Hrefs: map[string]string{
		"B04": "s3://scenes/2024/tile 29RKH/S2A_20240601/B04.tif",
		"SCL": "s3://scenes/2024/tile 29RKH/S2A_20240601/mask/SCL.tif",
	}, Attrs: map[string]string{"source": "s3://scenes/2024/tile 29RKH/S2A_20240601/"}}}
	if !reflect.DeepEqual(refs, want) {
		t.Fatalf("bucket event:\n got %+v\nwant %+v", refs, want)
	}
	// Events without a marker announce nothing.
	if _, err := n.parse([]byte(`{"Records": [{"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "x/B04.tif"}}}]}`)); err != errNotScene {
		t.Fatalf("band-file event: %v", err)
	}
	for _, bad := range []string{`{"assets": {"B04": "x"}}`, `{"id": "x", "assets": {"B04": "x"}}`, `{"foo": 1}`, `[1]`} {
		if _, err := n.parse([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

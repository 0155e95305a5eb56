package operators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/op"
)

var natsSpec = &op.Spec{
	Name: "nats",
	Kind: op.Source,
	Doc: "Reads the scenes announced on a NATS subject; runs until the run is stopped. A message is JSON: " +
		"{\"id\": ID, \"assets\": {BAND: HREF, ...}} (asset keys as for stac.search), {\"dir\": FOLDER-OR-PREFIX} (layout as for cog.read, optional \"id\"), " +
		"or an S3/MinIO bucket notification whose object key is a scene's marker file (s3://BUCKET/PREFIX/_READY reads the scene s3://BUCKET/PREFIX/). " +
		"Each scene id is read once; messages that are no scene notification are logged and skipped.",
	Fields: append([]op.Field{
		{Name: "url", Type: op.String, Required: true, Doc: "NATS server URL(s), comma-separated (nats://host:4222); the run's own embedded server is not reachable from here"},
		{Name: "subject", Type: op.String, Required: true, Doc: "subject to subscribe to (wildcards allowed)"},
		{Name: "queue", Type: op.String, Doc: "queue group: workers sharing it split the notifications between them"},
		{Name: "creds", Type: op.String, Doc: "NATS credentials file (JWT and NKey seed)"},
		{Name: "marker", Type: op.String, Default: "_READY", Doc: "object name that completes a scene in bucket notifications"},
		stateField,
		filesField,
		{Name: "assets", Type: op.Map, Doc: "asset key per band in {\"assets\": ...} messages (default: the band name, then earth-search's names)"},
	}, readFields...),
	Flow: func(cfg *op.Config, _ []op.Schema) (op.Schema, error) {
		n, err := newNATSSource(cfg, op.Env{})
		if err != nil {
			return op.Schema{}, err
		}
		return n.schema(defaultDTypes(n.bands)), nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) { return newNATSSource(cfg, env) },
}

type natsSource struct {
	sceneReader
	url, subject, queue, creds string
	marker                     string
	files, assets              map[string]string
	bandNames                  []string
	statePath                  string
	log                        func(string, ...any)
}

func newNATSSource(cfg *op.Config, env op.Env) (*natsSource, error) {
	rd, err := newSceneReader(cfg)
	if err != nil {
		return nil, err
	}
	rd.failed = env.SceneFailed
	n := &natsSource{sceneReader: rd, url: cfg.String("url"), subject: cfg.String("subject"), queue: cfg.String("queue"), creds: cfg.String("creds"),
		marker: cfg.String("marker"), files: cfg.Map("files"), assets: cfg.Map("assets"), bandNames: cfg.Strings("bands"),
		statePath: cfg.String("state"), log: env.Log}
	if n.url == "" {
		return nil, op.Errorf("url", "no NATS server given")
	}
	if n.subject == "" || strings.ContainsAny(n.subject, " \t\r\n") {
		return nil, op.Errorf("subject", "want a NATS subject, got %q", n.subject)
	}
	if n.marker == "" || strings.Contains(n.marker, "/") {
		return nil, op.Errorf("marker", "want an object name, got %q", n.marker)
	}
	for _, s := range []string{"files", "assets"} {
		if err := checkBandKeys(cfg, s); err != nil {
			return nil, err
		}
	}
	if n.log == nil {
		n.log = func(string, ...any) {}
	}
	return n, nil
}

// sceneNote is a scene notification: one of the three forms.
type sceneNote struct {
	ID      string            `json:"id"`
	Dir     string            `json:"dir"`
	Assets  map[string]string `json:"assets"`
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// errNotScene marks messages that announce no scene (other bucket events).
var errNotScene = errors.New("no scene in the message")

// parse turns a message into the scenes it announces.
func (n *natsSource) parse(data []byte) ([]sceneRef, error) {
	var note sceneNote
	if err := json.Unmarshal(data, &note); err != nil {
		return nil, fmt.Errorf("not a scene notification: %w", err)
	}
	switch {
	case note.Records != nil:
		var out []sceneRef
		for _, r := range note.Records {
			if r.EventName != "" && !strings.Contains(r.EventName, "ObjectCreated") {
				continue
			}
			// Keys in bucket notifications are URL-encoded.
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				return nil, fmt.Errorf("bucket notification: bad key %q", r.S3.Object.Key)
			}
			if path.Base(key) != n.marker {
				continue
			}
			prefix := path.Dir(key)
			if r.S3.Bucket.Name == "" || prefix == "." || prefix == "/" {
				return nil, fmt.Errorf("bucket notification: %s in bucket %q is not inside a scene folder", key, r.S3.Bucket.Name)
			}
			dir := "s3://" + r.S3.Bucket.Name + "/" + strings.TrimPrefix(prefix, "/") + "/"
			out = append(out, n.folderScene(dir, n.files))
		}
		if len(out) == 0 {
			return nil, errNotScene
		}
		return out, nil
	case note.Assets != nil:
		if note.ID == "" {
			return nil, fmt.Errorf("scene notification with assets but no id")
		}
		hrefs, err := pickHrefs(note.ID, n.bandNames, note.Assets, n.assets)
		if err != nil {
			return nil, err
		}
		return []sceneRef{{ID: note.ID, Hrefs: hrefs, Attrs: map[string]string{"source": "nats:" + n.subject}}}, nil
	case note.Dir != "":
		ref := n.folderScene(note.Dir, n.files)
		if note.ID != "" {
			ref.ID = note.ID
		}
		return []sceneRef{ref}, nil
	}
	return nil, fmt.Errorf("not a scene notification: want \"assets\" and \"id\", \"dir\" or bucket event \"Records\"")
}

// Run subscribes and reads the announced scenes until ctx ends.
func (n *natsSource) Run(ctx context.Context, emit op.Emit) error {
	seen, err := loadSeen(n.statePath)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	opts := []nats.Option{nats.Name("rasterflow nats source"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.Timeout(10 * time.Second)}
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	nc, err := nats.Connect(n.url, opts...)
	if err != nil {
		return fmt.Errorf("nats: connect %s: %w", n.url, err)
	}
	defer nc.Close()
	var sub *nats.Subscription
	if n.queue != "" {
		sub, err = nc.QueueSubscribeSync(n.subject, n.queue)
	} else {
		sub, err = nc.SubscribeSync(n.subject)
	}
	if err != nil {
		return fmt.Errorf("nats: subscribe %s: %w", n.subject, err)
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("nats: %s: %w", n.subject, err)
		}
		refs, err := n.parse(msg.Data)
		if errors.Is(err, errNotScene) {
			continue
		}
		if err != nil {
			n.log("nats: %s: skipped a message: %v", msg.Subject, err)
			continue
		}
		for _, ref := range refs {
			if seen.has(ref.ID) {
				continue
			}
			if err := n.readRef(ctx, ref, emit); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if err := seen.add(ref.ID, time.Time{}); err != nil {
				return fmt.Errorf("nats: %w", err)
			}
		}
	}
}

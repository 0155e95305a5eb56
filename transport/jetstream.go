package transport

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers and kinds of durable (JetStream) messages, in addition to HdrKind,
// HdrFrom and HdrScene.
const (
	// HdrID identifies a message within its scene and sending stage, so a
	// redelivered or republished message is recognised as a duplicate.
	HdrID = "Rf-Id"
	// HdrWeight is the share of its scene a message completes, as an exact
	// fraction "a/b": a scene is complete at a stage once the weights from
	// each input add up to 1.
	HdrWeight = "Rf-Weight"
	// HdrUnit is "run" on the ticket of a stage that owns a whole run.
	HdrUnit = "Rf-Unit"
	// Dead-letter headers.
	HdrStage      = "Rf-Stage"
	HdrError      = "Rf-Error"
	HdrRun        = "Rf-Run"
	HdrDeliveries = "Rf-Deliveries"

	// KindEmpty says a chunk produced nothing; it carries its weight on.
	KindEmpty = "empty"
	// KindAbort carries the weight of a chunk or scene that failed.
	KindAbort = "abort"
	// KindOpen is a ticket: a stage that owns scenes (or a whole run)
	// should claim one.
	KindOpen = "open"
)

// Names are the JetStream names of one run of a pipeline. Each stage with
// an input has one work-queue stream holding everything sent to it:
//
//	rf.<pipeline>.<run>.<stage>.c.s-<scene>  chunks and markers of a scene
//	rf.<pipeline>.<run>.<stage>.c.eos        end of stream (run-owned stages)
//	rf.<pipeline>.<run>.<stage>.open         tickets (owned stages)
//
// Dead letters of every run go to rf.<pipeline>.dlq; scene state lives in
// the key-value bucket rf_<pipeline>.
type Names struct {
	Pipeline, Run string
}

// Token makes s usable as one subject token, stream or consumer name part
// and key-value key part: it keeps [A-Za-z0-9_-] and, when anything else had
// to be replaced (or s is long), appends a hash of s so tokens stay unique.
func Token(s string) string {
	var b strings.Builder
	changed := s == ""
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
			changed = true
		}
	}
	out := b.String()
	if len(out) > 48 {
		out, changed = out[:48], true
	}
	if changed {
		h := fnv.New64a()
		h.Write([]byte(s))
		out += fmt.Sprintf("-%016x", h.Sum64())
	}
	return out
}

func (n Names) prefix(stage string) string {
	return "rf." + Token(n.Pipeline) + "." + Token(n.Run) + "." + Token(stage)
}

// Stream is the stream of a stage's input.
func (n Names) Stream(stage string) string {
	return "RF_" + Token(n.Pipeline) + "_" + Token(n.Run) + "_" + Token(stage)
}

// SceneToken is the subject and key token of a scene.
func SceneToken(scene string) string { return "s-" + Token(scene) }

// Chunks is the subject of a scene's chunks at a stage.
func (n Names) Chunks(stage, scene string) string {
	return n.prefix(stage) + ".c." + SceneToken(scene)
}

// AllChunks matches every chunk (and eos) subject of a stage.
func (n Names) AllChunks(stage string) string { return n.prefix(stage) + ".c.>" }

// EOS is the end-of-stream subject of a stage.
func (n Names) EOS(stage string) string { return n.prefix(stage) + ".c.eos" }

// Open is the ticket subject of a stage.
func (n Names) Open(stage string) string { return n.prefix(stage) + ".open" }

// DLQ is the dead-letter subject of the pipeline.
func (n Names) DLQ() string { return "rf." + Token(n.Pipeline) + ".dlq" }

// DLQStream is the stream holding dead letters.
func (n Names) DLQStream() string { return "RF_" + Token(n.Pipeline) + "_DLQ" }

// Bucket is the key-value bucket of scene state.
func (n Names) Bucket() string { return "rf_" + Token(n.Pipeline) }

// Key is a key of the run in the bucket: <run>.<parts...>.
func (n Names) Key(parts ...string) string {
	return Token(n.Run) + "." + strings.Join(parts, ".")
}

// JetStreamOptions configure the streams of a run.
type JetStreamOptions struct {
	// Replicas of every stream and of the bucket (1, or 3 on a cluster).
	Replicas int
	// Duplicates is the window in which a republished message (same
	// message id) is dropped by the server; 0 means 2 minutes.
	Duplicates time.Duration
}

// SetupJetStream creates (or updates to the same configuration) the
// streams of the given stages, the dead-letter stream and the bucket. Every
// process of a run calls it; it is idempotent. The streams and the bucket
// are set up at once: on a cluster each waits for its replicas to elect a
// leader, and processes starting together race to create them (a request
// that lost the race may get no answer, so attempts are kept short).
func SetupJetStream(ctx context.Context, js jetstream.JetStream, n Names, stages []string, o JetStreamOptions) (jetstream.KeyValue, error) {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.Duplicates == 0 {
		o.Duplicates = 2 * time.Minute
	}
	var cfgs []jetstream.StreamConfig
	for _, s := range stages {
		cfgs = append(cfgs, jetstream.StreamConfig{
			Name:        n.Stream(s),
			Description: fmt.Sprintf("rasterflow %s run %s: input of stage %s", n.Pipeline, n.Run, s),
			Subjects:    []string{n.prefix(s) + ".>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
			Duplicates:  o.Duplicates,
		})
	}
	cfgs = append(cfgs, jetstream.StreamConfig{
		Name:        n.DLQStream(),
		Description: "rasterflow " + n.Pipeline + ": dead letters",
		Subjects:    []string{n.DLQ()},
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		MaxAge:      30 * 24 * time.Hour,
	})
	errs := make(chan error, len(cfgs)+1)
	for _, cfg := range cfgs {
		go func() {
			err := retry(ctx, setupTimeout, func(ctx context.Context) error {
				_, err := js.CreateOrUpdateStream(ctx, cfg)
				return err
			})
			if err != nil {
				err = fmt.Errorf("transport: stream %s: %w", cfg.Name, err)
			}
			errs <- err
		}()
	}
	var kv jetstream.KeyValue
	go func() {
		err := retry(ctx, setupTimeout, func(ctx context.Context) error {
			var err error
			kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket:      n.Bucket(),
				Description: "rasterflow " + n.Pipeline + ": scene state",
				Storage:     jetstream.FileStorage,
				Replicas:    o.Replicas,
			})
			return err
		})
		if err != nil {
			err = fmt.Errorf("transport: bucket %s: %w", n.Bucket(), err)
		}
		errs <- err
	}()
	var first error
	for range len(cfgs) + 1 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return kv, nil
}

// setupTimeout bounds one attempt to create a stream or bucket.
const setupTimeout = 2 * time.Second

// opTimeout bounds one JetStream request inside Retry.
const opTimeout = 5 * time.Second

// Retry runs f until it succeeds, fails with a permanent error, or ctx
// ends. Each attempt gets its own deadline; timeouts and the errors a
// cluster returns while it elects leaders or a node restarts are retried
// with backoff.
func Retry(ctx context.Context, f func(ctx context.Context) error) error {
	return retry(ctx, opTimeout, f)
}

func retry(ctx context.Context, attempt time.Duration, f func(ctx context.Context) error) error {
	delay := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := f(actx)
		cancel()
		if err == nil || !Transient(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil && Transient(err) {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// Transient reports whether a JetStream error may go away by itself.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, jetstream.ErrNoHeartbeat) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503: JetStream or the stream's leader is (temporarily) unavailable;
		// 500: internal errors during leader changes.
		return apiErr.Code == 503 || apiErr.Code == 500 || apiErr.Code == 408
	}
	msg := err.Error()
	return strings.Contains(msg, "leader") || strings.Contains(msg, "not available") || strings.Contains(msg, "timeout")
}

// PublishAcked publishes m to JetStream with a message id (duplicates
// within the stream's window are dropped by the server) and returns once
// the stream acknowledged it, retrying transient failures.
func PublishAcked(ctx context.Context, js jetstream.JetStream, m *nats.Msg, msgID string) error {
	err := Retry(ctx, func(ctx context.Context) error {
		_, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(msgID))
		return err
	})
	if err != nil {
		return fmt.Errorf("transport: publish to %s: %w", m.Subject, err)
	}
	return nil
}

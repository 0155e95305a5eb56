package transport

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Header names.
const (
	HdrKind    = "Rf-Kind"
	HdrFrom    = "Rf-From"
	HdrScene   = "Rf-Scene"
	HdrCount   = "Rf-Count"
	HdrAborted = "Rf-Aborted"
)

// Message kinds.
const (
	KindData     = "data"
	KindSceneEnd = "scene-end"
	KindEOS      = "eos"
)

// Subject is the input subject of a stage in a run.
func Subject(pipeline, run, stage string) string {
	return "rf." + pipeline + "." + run + "." + stage
}

// Edge sends one stage's output to one downstream stage's subject with at
// most Window data messages unacknowledged.
type Edge struct {
	nc      *nats.Conn
	subject string
	from    string
	credits chan struct{}
	ackSub  *nats.Subscription
	ackSubj string
	timeout time.Duration
	mu      sync.Mutex
}

// NewEdge opens an edge from stage `from` to `subject`.
func NewEdge(nc *nats.Conn, from, subject string, window int) (*Edge, error) {
	if window < 1 {
		window = 1
	}
	e := &Edge{nc: nc, subject: subject, from: from, credits: make(chan struct{}, window), ackSubj: nc.NewRespInbox(), timeout: 10 * time.Minute}
	for range window {
		e.credits <- struct{}{}
	}
	sub, err := nc.Subscribe(e.ackSubj, func(*nats.Msg) {
		select {
		case e.credits <- struct{}{}:
		default: // a duplicate ack; never exceed the window
		}
	})
	if err != nil {
		return nil, fmt.Errorf("transport: edge %s → %s: %w", from, subject, err)
	}
	e.ackSub = sub
	return e, nil
}

// Send publishes a data message, first waiting for a credit. It returns how
// long it waited (back-pressure).
func (e *Edge) Send(ctx context.Context, scene string, body []byte) (time.Duration, error) {
	start := time.Now()
	select {
	case <-e.credits:
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
	waited := time.Since(start)
	m := &nats.Msg{Subject: e.subject, Reply: e.ackSubj, Data: body, Header: nats.Header{}}
	m.Header.Set(HdrKind, KindData)
	m.Header.Set(HdrFrom, e.from)
	m.Header.Set(HdrScene, scene)
	if err := e.nc.PublishMsg(m); err != nil {
		e.credits <- struct{}{}
		return waited, fmt.Errorf("transport: publish to %s: %w", e.subject, err)
	}
	return waited, nil
}

// SendControl publishes a scene-end or end-of-stream message.
func (e *Edge) SendControl(kind, scene string, count int, aborted bool) error {
	m := &nats.Msg{Subject: e.subject, Header: nats.Header{}}
	m.Header.Set(HdrKind, kind)
	m.Header.Set(HdrFrom, e.from)
	m.Header.Set(HdrScene, scene)
	m.Header.Set(HdrCount, strconv.Itoa(count))
	if aborted {
		m.Header.Set(HdrAborted, "1")
	}
	if err := e.nc.PublishMsg(m); err != nil {
		return fmt.Errorf("transport: publish %s to %s: %w", kind, e.subject, err)
	}
	return nil
}

// InFlight is the number of unacknowledged data messages.
func (e *Edge) InFlight() int { return cap(e.credits) - len(e.credits) }

// Close stops listening for acknowledgements.
func (e *Edge) Close() error { return e.ackSub.Unsubscribe() }

// Ack acknowledges a received data message, returning its credit.
func Ack(m *nats.Msg) error {
	if m.Reply == "" {
		return nil
	}
	return m.Respond(nil)
}

package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
)

// SubjectPrefix starts every metrics subject; SubjectAll matches them all.
const (
	SubjectPrefix = "rf.metrics."
	SubjectAll    = SubjectPrefix + ">"
)

// Subject is the metrics subject of a pipeline. Characters NATS gives a
// meaning to (dots, wildcards, spaces) become '_'.
func Subject(pipeline string) string {
	if pipeline == "" {
		pipeline = "_"
	}
	return SubjectPrefix + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, pipeline)
}

// Message is what a worker publishes: its stages' counters and, when it
// knows it, the pipeline graph.
type Message struct {
	Worker string             `json:"worker"`
	At     time.Time          `json:"at"`
	Stages []metrics.Snapshot `json:"stages"`
	Graph  *Graph             `json:"graph,omitempty"`
}

// Limits on what a Collector accepts from the wire.
const (
	maxMessageStages = 4096
	maxNameLen       = 256
)

func (m *Message) validate() error {
	if m.Worker == "" || len(m.Worker) > maxNameLen {
		return fmt.Errorf("monitor: message: bad worker name (%d bytes)", len(m.Worker))
	}
	if len(m.Stages) > maxMessageStages || (m.Graph != nil && len(m.Graph.Stages) > maxMessageStages) {
		return fmt.Errorf("monitor: message from %q: more than %d stages", m.Worker, maxMessageStages)
	}
	for _, s := range m.Stages {
		if len(s.Pipeline) > maxNameLen || len(s.ID) > maxNameLen || len(s.Op) > maxNameLen || len(s.Worker) > maxNameLen {
			return fmt.Errorf("monitor: message from %q: name longer than %d bytes", m.Worker, maxNameLen)
		}
	}
	return nil
}

// Publisher publishes a Source's snapshots on a NATS subject.
type Publisher struct {
	Conn *nats.Conn
	// Subject defaults to Subject(Pipeline.Name).
	Subject string
	// Worker names this process; it fills snapshots with no worker.
	Worker   string
	Source   Source
	Pipeline *graph.Pipeline // optional: sent along for the dashboard
	// Interval defaults to one second.
	Interval time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Publish publishes src's snapshots on subject every interval until ctx is
// done, then once more so viewers see the final counters.
func Publish(ctx context.Context, nc *nats.Conn, subject, worker string, src Source, p *graph.Pipeline, interval time.Duration) error {
	return Publisher{Conn: nc, Subject: subject, Worker: worker, Source: src, Pipeline: p, Interval: interval}.Run(ctx)
}

// Run publishes every interval until ctx is done, then once more. It
// returns nil when ctx ends it, or the first publishing error.
func (p Publisher) Run(ctx context.Context) error {
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := p.PublishOnce(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return p.PublishOnce()
		case <-t.C:
		}
	}
}

// PublishOnce publishes one snapshot.
func (p Publisher) PublishOnce() error {
	if p.Conn == nil || p.Source == nil || p.Worker == "" {
		return fmt.Errorf("monitor: publisher needs a connection, a source and a worker name")
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	subject := p.Subject
	if subject == "" {
		if p.Pipeline == nil {
			return fmt.Errorf("monitor: publisher needs a subject or a pipeline")
		}
		subject = Subject(p.Pipeline.Name)
	}
	at := now()
	m := Message{Worker: p.Worker, At: at, Stages: p.Source.Snapshot(at), Graph: GraphOf(p.Pipeline)}
	for i := range m.Stages {
		if m.Stages[i].Worker == "" {
			m.Stages[i].Worker = p.Worker
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("monitor: publish: %w", err)
	}
	if max := p.Conn.MaxPayload(); max > 0 && int64(len(data)) > max {
		return fmt.Errorf("monitor: publish: %d-byte snapshot exceeds the server's %d-byte limit", len(data), max)
	}
	if err := p.Conn.Publish(subject, data); err != nil {
		return fmt.Errorf("monitor: publish on %s: %w", subject, err)
	}
	return nil
}

// Collector gathers the snapshots workers publish. It is a Source: its
// Snapshot returns every worker's latest stages, with their time shifted
// onto this machine's clock (by the offset seen on the worker's first
// message), so rates come from the worker's own timestamps and staleness
// from ours.
type Collector struct {
	sub *nats.Subscription
	now func() time.Time

	mu       sync.Mutex
	workers  []*remote
	byName   map[string]*remote
	graphs   []*Graph
	messages int64
	invalid  int64
	lastErr  error
	changed  chan struct{}
}

type remote struct {
	offset time.Duration
	stages []metrics.Snapshot
}

// Collect subscribes to subject (a pipeline's Subject or SubjectAll) until
// ctx is done.
func Collect(ctx context.Context, nc *nats.Conn, subject string) (*Collector, error) {
	c := &Collector{now: time.Now, byName: map[string]*remote{}, changed: make(chan struct{})}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) { c.receive(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("monitor: subscribe %s: %w", subject, err)
	}
	c.sub = sub
	context.AfterFunc(ctx, func() { sub.Unsubscribe() })
	return c, nil
}

func (c *Collector) receive(data []byte) {
	var m Message
	err := json.Unmarshal(data, &m)
	if err == nil {
		err = m.validate()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.invalid++
		c.lastErr = err
		return
	}
	r := c.byName[m.Worker]
	if r == nil {
		r = &remote{offset: c.now().Sub(m.At)}
		c.byName[m.Worker] = r
		c.workers = append(c.workers, r)
	}
	r.stages = m.Stages
	for i := range r.stages {
		r.stages[i].At = r.stages[i].At.Add(r.offset)
		if r.stages[i].Worker == "" {
			r.stages[i].Worker = m.Worker
		}
	}
	if m.Graph != nil {
		m.Graph.level()
		c.setGraph(m.Graph)
	}
	c.messages++
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Collector) setGraph(g *Graph) {
	for i, old := range c.graphs {
		if old.Pipeline == g.Pipeline {
			c.graphs[i] = g
			return
		}
	}
	c.graphs = append(c.graphs, g)
}

// Snapshot returns the latest stages of every worker, workers in the order
// first heard from.
func (c *Collector) Snapshot(time.Time) []metrics.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []metrics.Snapshot
	for _, r := range c.workers {
		out = append(out, r.stages...)
	}
	return out
}

// Graphs returns the pipeline graphs workers sent.
func (c *Collector) Graphs() []Graph {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Graph, len(c.graphs))
	for i, g := range c.graphs {
		out[i] = *g
	}
	return out
}

// Changed returns a channel closed at the next valid message.
func (c *Collector) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// Stats reports the valid and invalid messages received and the last
// error an invalid one caused.
func (c *Collector) Stats() (messages, invalid int64, lastErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.messages, c.invalid, c.lastErr
}

package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/transport"
)

// Options configure a run.
type Options struct {
	// Conn is the NATS connection the run uses.
	Conn *nats.Conn
	// RunID separates concurrent runs of one pipeline on one server.
	RunID string
	// Window is the number of chunks in flight per edge; 0 picks
	// 2 × downstream replicas + 2.
	Window int
	// Metrics receives per-stage counters; nil makes a private registry.
	Metrics *metrics.Registry
	// Worker names this process in metrics.
	Worker string
	Now    func() time.Time
	Log    func(format string, args ...any)
	// GPUs are handed to operators that take a device (nil: CPU only).
	GPUs *cuda.Devices
	// Durable, when set, runs on JetStream (see DurableOptions); Conn must
	// then reach a server with JetStream, and RunID should be stable so a
	// restart resumes the run.
	Durable *DurableOptions
}

// ErrStopped is the cause when a run is stopped from outside.
var ErrStopped = errors.New("engine: run stopped")

// Run executes p until every stage has ended its stream, an operator fails,
// or hardCtx is cancelled. Cancelling drainCtx stops the sources and lets
// in-flight work drain.
func Run(hardCtx, drainCtx context.Context, p *graph.Pipeline, opt Options) error {
	if opt.Conn == nil {
		return fmt.Errorf("engine: no NATS connection")
	}
	if opt.Metrics == nil {
		opt.Metrics = &metrics.Registry{}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = func(string, ...any) {}
	}
	if opt.RunID == "" {
		opt.RunID = strconv.FormatInt(opt.Now().UnixNano(), 36)
	}
	if opt.Durable != nil {
		return runDurable(hardCtx, drainCtx, p, opt)
	}
	ctx, cancel := context.WithCancelCause(hardCtx)
	defer cancel(nil)
	e := &engine{p: p, opt: opt, ctx: ctx, cancel: cancel, runners: map[string]*runner{}}
	defer e.close()
	if err := e.build(); err != nil {
		return err
	}
	for _, r := range e.runners {
		r.start(drainCtx)
	}
	for _, s := range p.Stages {
		select {
		case <-e.runners[s.ID].done:
		case <-ctx.Done():
		}
	}
	// Every stage ended its stream (or the run failed): stop the workers.
	cancel(errFinished)
	e.wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, errFinished) {
		return err
	}
	if len(e.failed) > 0 {
		return fmt.Errorf("%w: %d scene(s): %s", ErrScenesFailed, len(e.failed), strings.Join(e.failed, "; "))
	}
	return nil
}

// errFinished is the cause of the run context's cancellation when every
// stage has ended.
var errFinished = errors.New("engine: finished")

type engine struct {
	mu      sync.Mutex
	failed  []string // scenes sources could not read
	p       *graph.Pipeline
	opt     Options
	ctx     context.Context
	cancel  context.CancelCauseFunc
	runners map[string]*runner
	wg      sync.WaitGroup
}

func (e *engine) fail(err error) { e.cancel(err) }

func (e *engine) subject(stage string) string {
	return transport.Subject(e.p.Name, e.opt.RunID, stage)
}

func (e *engine) build() error {
	for _, s := range e.p.Stages {
		r := &runner{e: e, st: s, done: make(chan struct{}), in: map[string]*sceneIn{}, out: map[string]int{}, eos: map[string]bool{},
			m: e.opt.Metrics.Stage(e.p.Name, s.ID, s.Op, e.opt.Worker)}
		env := op.Env{Pipeline: e.p.Name, Stage: s.ID, Device: s.Device, Replicas: s.Replicas, Now: e.opt.Now, Log: e.opt.Log, GPUs: e.opt.GPUs,
			SceneFailed: r.failScene}
		inst, err := s.Spec.New(s.Config, env)
		if err != nil {
			return fmt.Errorf("stage %q (%s): %w", s.ID, s.Op, err)
		}
		r.m.Replicas.Store(int64(s.Replicas))
		switch v := inst.(type) {
		case op.Producer:
			r.prod = v
		case op.Processor:
			r.proc = v
		default:
			return fmt.Errorf("stage %q (%s): operator is neither a producer nor a processor", s.ID, s.Op)
		}
		e.runners[s.ID] = r
	}
	for _, s := range e.p.Stages {
		r := e.runners[s.ID]
		for _, down := range s.Out {
			w := e.opt.Window
			if w == 0 {
				w = 2*e.p.Stage(down).Replicas + 2
			}
			edge, err := transport.NewEdge(e.opt.Conn, s.ID, e.subject(down), w)
			if err != nil {
				return err
			}
			r.edges = append(r.edges, edge)
		}
		if r.proc != nil {
			// Room for every credit of every input edge, so the subscription
			// callback never blocks.
			w := e.opt.Window
			if w == 0 {
				w = 2*s.Replicas + 2
			}
			r.msgs = make(chan *work, 16+w*len(s.In))
			sub, err := e.opt.Conn.Subscribe(e.subject(s.ID), r.receive)
			if err != nil {
				return fmt.Errorf("stage %q: subscribe: %w", s.ID, err)
			}
			if err := sub.SetPendingLimits(-1, -1); err != nil {
				return fmt.Errorf("stage %q: %w", s.ID, err)
			}
			r.sub = sub
		}
	}
	// Make sure the server knows every subscription before sources publish.
	if err := e.opt.Conn.Flush(); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

func (e *engine) close() {
	for _, r := range e.runners {
		if r.sub != nil {
			_ = r.sub.Unsubscribe()
		}
		for _, ed := range r.edges {
			_ = ed.Close()
		}
		var inst any = r.proc
		if r.prod != nil {
			inst = r.prod
		}
		if c, ok := inst.(op.Closer); ok {
			if err := c.Close(); err != nil {
				e.opt.Log("stage %q: close: %v", r.st.ID, err)
			}
		}
	}
}

// sceneIn tracks one scene's input at one stage.
type sceneIn struct {
	expect    int             // sum of counts announced by scene-ends
	ends      map[string]bool // upstreams that ended this scene
	received  int
	processed int
	aborted   bool
	closing   bool
}

type work struct {
	msg   *nats.Msg
	scene string
}

type runner struct {
	e     *engine
	st    *graph.Stage
	prod  op.Producer
	proc  op.Processor
	edges []*transport.Edge
	sub   *nats.Subscription
	msgs  chan *work
	m     *metrics.Stage
	done  chan struct{}

	mu       sync.Mutex
	in       map[string]*sceneIn
	out      map[string]int // data messages sent per scene
	eos      map[string]bool
	closing  int // scenes whose EndScene is running
	finished bool
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// emitter returns an Emit that adds the time spent waiting on downstream
// to *waited, so a caller can tell its own busy time from back-pressure.
func (r *runner) emitter(waited *atomic.Int64) op.Emit {
	return func(ctx context.Context, c *chunk.Chunk) error { return r.send(ctx, c, waited) }
}

// keepColumns returns c with only the columns st's consumers read
// (graph.Stage.Keep), and a release for the selection it made (a no-op when
// every column goes on).
func keepColumns(st *graph.Stage, c *chunk.Chunk) (*chunk.Chunk, func(), error) {
	if st.Keep == nil {
		return c, func() {}, nil
	}
	sel, err := c.Select(st.Keep...)
	if err != nil {
		return nil, nil, fmt.Errorf("stage %q: %w", st.ID, err)
	}
	return sel, sel.Release, nil
}

// send encodes a chunk once and sends it to every downstream stage.
func (r *runner) send(ctx context.Context, c *chunk.Chunk, waitedSum *atomic.Int64) error {
	defer c.Release()
	scene := c.Meta.Scene
	if len(r.edges) > 0 {
		sel, release, err := keepColumns(r.st, c)
		if err != nil {
			return err
		}
		defer release()
		c = sel
	}
	rows, nbytes := int64(c.Rows()), int64(c.Bytes())
	if len(r.edges) > 0 {
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufPool.Put(buf)
		if err := transport.EncodeTo(buf, c); err != nil {
			return fmt.Errorf("stage %q: %w", r.st.ID, err)
		}
		for _, ed := range r.edges {
			waited, err := ed.Send(ctx, scene, buf.Bytes())
			r.m.BlockedNs.Add(int64(waited))
			if waitedSum != nil {
				waitedSum.Add(int64(waited))
			}
			if err != nil {
				return err
			}
		}
	}
	r.m.ChunksOut.Add(1)
	r.m.PixelsOut.Add(rows)
	r.m.BytesOut.Add(nbytes)
	r.mu.Lock()
	if r.out[scene] == 0 && r.prod != nil {
		r.m.Expected.Add(int64(c.Meta.Total))
	}
	r.out[scene]++
	n := r.out[scene]
	r.mu.Unlock()
	if r.prod != nil && c.Meta.Total > 0 && n == c.Meta.Total {
		return r.endOut(scene, false)
	}
	return nil
}

// endOut announces that this stage sent all its chunks of a scene.
func (r *runner) endOut(scene string, aborted bool) error {
	r.mu.Lock()
	n, ok := r.out[scene]
	delete(r.out, scene)
	r.mu.Unlock()
	if !ok {
		n = 0
	}
	r.m.Scenes.Add(1)
	for _, ed := range r.edges {
		if err := ed.SendControl(transport.KindSceneEnd, scene, n, aborted); err != nil {
			return err
		}
	}
	return nil
}

// endStream ends every open output scene and sends eos.
func (r *runner) endStream(aborted bool) error {
	r.mu.Lock()
	var open []string
	for s := range r.out {
		open = append(open, s)
	}
	r.mu.Unlock()
	for _, s := range open {
		if err := r.endOut(s, aborted); err != nil {
			return err
		}
	}
	for _, ed := range r.edges {
		if err := ed.SendControl(transport.KindEOS, "", 0, false); err != nil {
			return err
		}
	}
	close(r.done)
	return nil
}

// failScene is a source's report of a scene it could not read: what was
// sent of it is ended as aborted (sinks discard it), the failure is
// recorded, and the run goes on; Run returns ErrScenesFailed at the end.
func (r *runner) failScene(scene string, err error) {
	r.m.Errors.Add(1)
	r.e.opt.Log("stage %q (%s): scene %q failed: %v", r.st.ID, r.st.Op, scene, err)
	r.e.mu.Lock()
	r.e.failed = append(r.e.failed, fmt.Sprintf("%s: %v", scene, err))
	r.e.mu.Unlock()
	if err := r.endOut(scene, true); err != nil {
		r.fail(err)
	}
}

func (r *runner) fail(err error) {
	r.m.Errors.Add(1)
	r.e.fail(err)
}

func (r *runner) start(drainCtx context.Context) {
	ctx := r.e.ctx
	if r.prod != nil {
		r.e.wg.Add(1)
		go func() {
			defer r.e.wg.Done()
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(drainCtx, cancel)
			defer stop()
			// Busy time of a source: time between emits that was not
			// spent waiting on downstream, accounted as it goes.
			var waited atomic.Int64
			var mark atomic.Int64
			mark.Store(time.Now().UnixNano())
			emit := func(ctx context.Context, c *chunk.Chunk) error {
				err := r.send(ctx, c, &waited)
				now := time.Now().UnixNano()
				prev := mark.Swap(now)
				r.m.BusyNs.Add(max(0, now-prev-waited.Swap(0)))
				return err
			}
			err := r.prod.Run(sctx, emit)
			if ctx.Err() != nil {
				return // the run failed elsewhere or was aborted
			}
			stopped := sctx.Err() != nil
			if err != nil && !stopped {
				r.fail(fmt.Errorf("stage %q (%s): %w", r.st.ID, r.st.Op, err))
				return
			}
			if err := r.endStream(stopped); err != nil {
				r.fail(err)
			}
		}()
		return
	}
	for range r.st.Replicas {
		r.e.wg.Add(1)
		go func() {
			defer r.e.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case w := <-r.msgs:
					r.process(ctx, w)
				}
			}
		}()
	}
}

// receive runs in the subscription's goroutine, in message order.
func (r *runner) receive(m *nats.Msg) {
	kind := m.Header.Get(transport.HdrKind)
	from := m.Header.Get(transport.HdrFrom)
	scene := m.Header.Get(transport.HdrScene)
	switch kind {
	case transport.KindData:
		r.mu.Lock()
		r.scene(scene).received++
		r.mu.Unlock()
		r.m.InFlight.Add(1)
		select {
		case r.msgs <- &work{msg: m, scene: scene}:
		case <-r.e.ctx.Done():
		}
	case transport.KindSceneEnd:
		n, err := strconv.Atoi(m.Header.Get(transport.HdrCount))
		if err != nil {
			r.fail(fmt.Errorf("stage %q: bad scene-end from %q: %w", r.st.ID, from, err))
			return
		}
		r.mu.Lock()
		s := r.scene(scene)
		s.expect += n
		s.ends[from] = true
		if m.Header.Get(transport.HdrAborted) != "" {
			s.aborted = true
		}
		r.mu.Unlock()
		r.check()
	case transport.KindEOS:
		r.mu.Lock()
		r.eos[from] = true
		r.mu.Unlock()
		r.check()
	default:
		r.fail(fmt.Errorf("stage %q: unknown message kind %q from %q", r.st.ID, kind, from))
	}
}

// scene returns the state of a scene; r.mu must be held.
func (r *runner) scene(name string) *sceneIn {
	s, ok := r.in[name]
	if !ok {
		s = &sceneIn{ends: map[string]bool{}}
		r.in[name] = s
	}
	return s
}

func (r *runner) process(ctx context.Context, w *work) {
	defer r.m.InFlight.Add(-1)
	start := time.Now()
	c, err := transport.Decode(w.msg.Data, nil)
	if err != nil {
		r.fail(fmt.Errorf("stage %q, scene %q: %w", r.st.ID, w.scene, err))
		return
	}
	r.m.ChunksIn.Add(1)
	r.m.PixelsIn.Add(int64(c.Rows()))
	r.m.BytesIn.Add(int64(len(w.msg.Data)))
	var waited atomic.Int64
	err = r.proc.Process(ctx, c, r.emitter(&waited))
	c.Release()
	d := time.Since(start)
	// Time spent waiting on downstream inside Process is not busy time.
	busy := int64(d) - waited.Load()
	r.m.BusyNs.Add(max(busy, 0))
	r.m.ObserveLatency(d)
	if err != nil {
		if ctx.Err() == nil {
			r.fail(fmt.Errorf("stage %q (%s), scene %q, chunk %d/%d: %w", r.st.ID, r.st.Op, c.Meta.Scene, c.Meta.Index, c.Meta.Total, err))
		}
		return
	}
	if err := transport.Ack(w.msg); err != nil {
		r.fail(fmt.Errorf("stage %q: ack: %w", r.st.ID, err))
		return
	}
	r.mu.Lock()
	r.scene(w.scene).processed++
	r.mu.Unlock()
	r.check()
}

// check closes complete scenes and, when everything ended, the stream.
func (r *runner) check() {
	r.mu.Lock()
	var ready []string
	var aborted []bool
	for name, s := range r.in {
		if s.closing || s.processed != s.received || s.processed < s.expect {
			continue
		}
		all := true
		for _, up := range r.st.In {
			if !s.ends[up] && !r.eos[up] {
				all = false
				break
			}
		}
		if all {
			s.closing = true
			r.closing++
			ready = append(ready, name)
			aborted = append(aborted, s.aborted)
		}
	}
	r.mu.Unlock()
	for i, name := range ready {
		r.e.wg.Add(1)
		go r.closeScene(name, aborted[i])
	}
	if len(ready) == 0 {
		r.maybeFinish()
	}
}

func (r *runner) closeScene(name string, aborted bool) {
	defer r.e.wg.Done()
	ctx := r.e.ctx
	var err error
	if aborted {
		if a, ok := r.proc.(interface{ AbortScene(string) }); ok {
			a.AbortScene(name)
		}
	} else if se, ok := r.proc.(op.SceneEnder); ok {
		start := time.Now()
		var waited atomic.Int64
		err = se.EndScene(ctx, name, r.emitter(&waited))
		r.m.BusyNs.Add(max(0, int64(time.Since(start))-waited.Load()))
	}
	if err != nil {
		if ctx.Err() == nil {
			r.fail(fmt.Errorf("stage %q (%s), scene %q: %w", r.st.ID, r.st.Op, name, err))
		}
		return
	}
	if err := r.endOut(name, aborted); err != nil {
		r.fail(err)
		return
	}
	r.mu.Lock()
	delete(r.in, name)
	r.closing--
	r.mu.Unlock()
	r.maybeFinish()
}

func (r *runner) maybeFinish() {
	r.mu.Lock()
	if r.finished || r.closing > 0 || len(r.in) > 0 {
		r.mu.Unlock()
		return
	}
	for _, up := range r.st.In {
		if !r.eos[up] {
			r.mu.Unlock()
			return
		}
	}
	r.finished = true
	r.mu.Unlock()
	r.e.wg.Add(1)
	go func() {
		defer r.e.wg.Done()
		ctx := r.e.ctx
		if f, ok := r.proc.(op.Finisher); ok {
			start := time.Now()
			var waited atomic.Int64
			err := f.Finish(ctx, r.emitter(&waited))
			r.m.BusyNs.Add(max(0, int64(time.Since(start))-waited.Load()))
			if err != nil {
				if ctx.Err() == nil {
					r.fail(fmt.Errorf("stage %q (%s): %w", r.st.ID, r.st.Op, err))
				}
				return
			}
		}
		if err := r.endStream(false); err != nil {
			r.fail(err)
		}
	}()
}

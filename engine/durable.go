package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/transport"
)

// DurableOptions turn a run durable: edges are JetStream work-queue
// streams, scene state lives in a key-value bucket, and several processes
// (`rasterflow worker`) may serve the same stages. See the package
// documentation.
type DurableOptions struct {
	// Stages limits this process to these stages (nil: all).
	Stages []string
	// Replicas of streams and bucket: 1, or 3 on a cluster.
	Replicas int
	// MaxDeliver is how often a chunk (or a scene at a stage owning
	// scenes) is tried before it goes to the dead-letter subject; 0: 5.
	MaxDeliver int
	// AckWait is how long a chunk or a claimed scene stays with a silent
	// worker before it is handed to another; workers send heartbeats
	// every third of it. 0: 30s.
	AckWait time.Duration
	// MaxAckPending bounds the chunks in flight per stage across all
	// processes; 0: 4 × replicas (at least 8).
	MaxAckPending int
	// ScenesPerWorker is how many scenes a process works on at once at a
	// stage that owns scenes; 0: 2.
	ScenesPerWorker int
	// MaxOpenScenes is how many scenes a source has in flight; 0: 8.
	MaxOpenScenes int
	// DrainTimeout bounds how long a stopped run waits for scenes its
	// sources emitted completely; 0: 1 minute.
	DrainTimeout time.Duration
	// Poll is the interval of the direct state checks that back up the
	// key-value watcher (waits wake on the watcher's changes); 0: 1s.
	Poll time.Duration
}

func (o *DurableOptions) defaults() {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.MaxDeliver < 1 {
		o.MaxDeliver = 5
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.ScenesPerWorker < 1 {
		o.ScenesPerWorker = 2
	}
	if o.MaxOpenScenes < 1 {
		o.MaxOpenScenes = 8
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
}

// ErrScenesFailed is wrapped by the error of a durable run in which some
// scenes went to the dead-letter subject.
var ErrScenesFailed = errors.New("engine: scenes failed")

// role is how a stage takes part in a durable run.
type role int

const (
	roleSource    role = iota
	roleStateless      // chunks spread over all workers
	roleScene          // all chunks of a scene go to one worker (SceneEnder, sinks)
	roleRun            // all chunks of the run go to one worker (Finisher)
)

type dstage struct {
	st    *graph.Stage
	role  role
	local bool
	prod  op.Producer
	proc  op.Processor
	inst  any
	m     *metrics.Stage
	// stream is the stage's input stream (owned stages served here).
	stream jetstream.Stream
	// announce lists the owned stages this source or run-owned stage
	// sends tickets to; eosTo the run-owned stages it sends its end of
	// stream to; eosFrom (run-owned stages) those it waits for.
	announce []*dstage
	eosTo    []*dstage
	eosFrom  []string
	// src runs a source stage served here.
	src *sourceRun
}

type durable struct {
	p      *graph.Pipeline
	opt    Options
	do     DurableOptions
	js     jetstream.JetStream
	st     *store
	names  transport.Names
	stages map[string]*dstage
	finals []string // stages without downstream stages
	owner  string

	ctx    context.Context // hard: cancelled on failure
	cancel context.CancelCauseFunc
	stop   context.Context // graceful: stop taking work
	wg     sync.WaitGroup

	mu     sync.Mutex
	failed map[string]string // scenes that failed, seen by this process
}

func runDurable(hardCtx, drainCtx context.Context, p *graph.Pipeline, opt Options) error {
	do := *opt.Durable
	do.defaults()
	ctx, cancel := context.WithCancelCause(hardCtx)
	defer cancel(nil)
	stop, stopAll := context.WithCancel(ctx)
	defer stopAll()
	js, err := jetstream.New(opt.Conn)
	if err != nil {
		return fmt.Errorf("engine: jetstream: %w", err)
	}
	d := &durable{p: p, opt: opt, do: do, js: js, names: transport.Names{Pipeline: p.Name, Run: opt.RunID},
		stages: map[string]*dstage{}, owner: opt.Worker + "-" + nuid.Next(), ctx: ctx, cancel: cancel, stop: stop, failed: map[string]string{}}
	defer d.close()
	if err := d.build(); err != nil {
		return err
	}
	var inputs []string
	for _, s := range p.Stages {
		if len(s.In) > 0 {
			inputs = append(inputs, s.ID)
		}
	}
	kv, err := transport.SetupJetStream(ctx, js, d.names, inputs, transport.JetStreamOptions{Replicas: do.Replicas})
	if err != nil {
		return err
	}
	d.st = &store{kv: kv, names: d.names, now: opt.Now}
	if err := d.st.watch(ctx); err != nil {
		return err
	}

	var sources []*sourceRun
	for _, s := range p.Stages {
		ds := d.stages[s.ID]
		if !ds.local {
			continue
		}
		switch ds.role {
		case roleSource:
			sr := &sourceRun{d: d, ds: ds, scenes: map[string]*srcScene{}, active: map[string]struct{}{}, done: make(chan struct{})}
			ds.src = sr
			sources = append(sources, sr)
		case roleStateless:
			if err := d.startStateless(ds); err != nil {
				return err
			}
		default:
			if err := d.startOwned(ds); err != nil {
				return err
			}
		}
	}
	for _, sr := range sources {
		d.wg.Add(1)
		go sr.run(drainCtx)
	}
	err = d.wait(drainCtx, sources)
	stopAll()
	d.wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && err == nil {
		err = cause
	}
	if err == nil && hardCtx.Err() != nil {
		err = hardCtx.Err()
	}
	return err
}

// build instantiates every stage (also those other processes run: their
// roles must be known) and links tickets and ends of stream.
func (d *durable) build() error {
	local := map[string]bool{}
	for _, id := range d.do.Stages {
		if d.p.Stage(id) == nil {
			return fmt.Errorf("engine: no stage %q in pipeline %s", id, d.p.Name)
		}
		local[id] = true
	}
	for _, s := range d.p.Stages {
		ds := &dstage{st: s, local: len(d.do.Stages) == 0 || local[s.ID]}
		env := op.Env{Pipeline: d.p.Name, Stage: s.ID, Device: s.Device, Replicas: s.Replicas, Now: d.opt.Now, Log: d.opt.Log, GPUs: d.opt.GPUs,
			SceneFailed: func(scene string, err error) {
				if ds.src != nil {
					ds.src.failScene(scene, err)
				}
			}}
		inst, err := s.Spec.New(s.Config, env)
		if err != nil {
			return fmt.Errorf("stage %q (%s): %w", s.ID, s.Op, err)
		}
		ds.inst = inst
		ds.m = d.opt.Metrics.Stage(d.p.Name, s.ID, s.Op, d.opt.Worker)
		ds.m.Replicas.Store(int64(s.Replicas))
		switch v := inst.(type) {
		case op.Producer:
			ds.prod, ds.role = v, roleSource
		case op.Processor:
			ds.proc = v
			_, ender := v.(op.SceneEnder)
			_, finisher := v.(op.Finisher)
			switch {
			case finisher:
				ds.role = roleRun
			case ender || len(s.Out) == 0:
				ds.role = roleScene
			default:
				ds.role = roleStateless
			}
		default:
			return fmt.Errorf("stage %q (%s): operator is neither a producer nor a processor", s.ID, s.Op)
		}
		if len(s.Out) == 0 {
			d.finals = append(d.finals, s.ID)
		}
		d.stages[s.ID] = ds
	}
	for _, ds := range d.stages {
		if ds.role == roleSource || ds.role == roleRun {
			d.link(ds)
		}
	}
	return nil
}

// link finds the owned stages ds sends tickets to and the run-owned stages
// it sends its end of stream to: downstream through stateless and
// scene-owned stages, stopping at run-owned ones (which announce their own
// output).
func (d *durable) link(ds *dstage) {
	seen := map[string]bool{}
	var walk func(s *graph.Stage)
	walk = func(s *graph.Stage) {
		for _, id := range s.Out {
			if seen[id] {
				continue
			}
			seen[id] = true
			t := d.stages[id]
			switch t.role {
			case roleScene:
				ds.announce = append(ds.announce, t)
				walk(t.st)
			case roleRun:
				ds.announce = append(ds.announce, t)
				ds.eosTo = append(ds.eosTo, t)
				t.eosFrom = append(t.eosFrom, ds.st.ID)
			default:
				walk(t.st)
			}
		}
	}
	walk(ds.st)
}

func (d *durable) close() {
	for _, ds := range d.stages {
		if c, ok := ds.inst.(op.Closer); ok {
			if err := c.Close(); err != nil {
				d.opt.Log("stage %q: close: %v", ds.st.ID, err)
			}
		}
	}
}

func (d *durable) logf(format string, args ...any) { d.opt.Log(format, args...) }

func (d *durable) sceneFailed(scene, msg string) {
	d.mu.Lock()
	d.failed[scene] = msg
	d.mu.Unlock()
}

// wait returns when the run is over for this process: a process with
// sources waits until every scene they emitted is done or failed (and
// every run-owned stage finished), then marks the run finished; other
// processes wait for that mark. A drain (SIGTERM) stops the sources, waits
// a while for the scenes they emitted completely, and returns. Waits wake
// on the state watcher's changes (see view).
func (d *durable) wait(drainCtx context.Context, sources []*sourceRun) error {
	if len(sources) == 0 {
		ctx, cancel := context.WithCancel(d.ctx)
		defer cancel()
		stopWait := context.AfterFunc(drainCtx, cancel)
		defer stopWait()
		err := d.st.waitState(ctx, d.do.Poll, func(fresh bool) (bool, error) {
			v, err := d.st.value(ctx, d.st.runKey(), fresh)
			return v == "finished", err
		})
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for _, sr := range sources {
		select {
		case <-sr.done:
		case <-d.ctx.Done():
			return nil
		}
	}
	if drainCtx.Err() != nil {
		ctx, cancel := context.WithTimeout(d.ctx, d.do.DrainTimeout)
		defer cancel()
		n := 0
		err := d.st.waitState(ctx, d.do.Poll, func(fresh bool) (bool, error) {
			n = 0
			for _, sr := range sources {
				k, err := sr.unfinished(ctx, true, fresh)
				if err != nil {
					return false, err
				}
				n += k
			}
			return n == 0, nil
		})
		switch {
		case d.ctx.Err() != nil:
			return nil
		case ctx.Err() != nil:
			d.logf("stopping with %d scene(s) still in flight; a restart finishes them", n)
			return nil
		}
		return err
	}
	var scenes []string
	for _, sr := range sources {
		scenes = append(scenes, sr.seen()...)
	}
	var failed []string
	settled := map[string]bool{} // done or failed: no need to look again
	err := d.st.waitState(d.ctx, d.do.Poll, func(fresh bool) (bool, error) {
		for _, sc := range scenes {
			if settled[sc] {
				continue
			}
			rec, _, err := d.st.scene(d.ctx, sc) // only the few still open
			if err != nil {
				return false, err
			}
			switch rec.State {
			case SceneDone:
			case SceneFailed:
				failed = append(failed, sc+" ("+rec.Error+")")
			default:
				return false, nil
			}
			settled[sc] = true
		}
		for _, ds := range d.stages {
			if ds.role != roleRun {
				continue
			}
			v, err := d.st.value(d.ctx, d.st.finalKey(ds.st.ID), fresh)
			if err != nil || v == "" {
				return false, err
			}
		}
		return true, nil
	})
	if d.ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	if err := d.st.put(d.ctx, d.st.runKey(), "finished"); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %d of %d scene(s), see %s: %s", ErrScenesFailed, len(failed), len(scenes), d.names.DLQ(), strings.Join(failed, "; "))
	}
	return nil
}

// weight parses a message's weight.
func weight(h nats.Header) (*big.Rat, error) {
	w, ok := new(big.Rat).SetString(h.Get(transport.HdrWeight))
	if !ok || w.Sign() < 0 || w.Cmp(big.NewRat(1, 1)) > 0 {
		return nil, fmt.Errorf("engine: bad weight %q", h.Get(transport.HdrWeight))
	}
	return w, nil
}

var durBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// sendTo publishes one message to each of the stages, waiting for
// JetStream's acknowledgements.
func (d *durable) sendTo(ctx context.Context, from *dstage, to []string, kind, scene, id string, w *big.Rat, body []byte, errText string) error {
	for _, down := range to {
		m := nats.NewMsg(d.names.Chunks(down, scene))
		m.Data = body
		m.Header.Set(transport.HdrKind, kind)
		m.Header.Set(transport.HdrFrom, from.st.ID)
		m.Header.Set(transport.HdrScene, scene)
		m.Header.Set(transport.HdrID, id)
		m.Header.Set(transport.HdrWeight, w.RatString())
		if errText != "" {
			m.Header.Set(transport.HdrError, errText)
		}
		if err := transport.PublishAcked(ctx, d.js, m, scene+"|"+from.st.ID+"|"+id); err != nil {
			return fmt.Errorf("stage %q: %w", from.st.ID, err)
		}
	}
	return nil
}

// sendChunk encodes a chunk and sends it downstream.
func (d *durable) sendChunk(ctx context.Context, ds *dstage, c *chunk.Chunk, id string, w *big.Rat) error {
	buf := durBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer durBufPool.Put(buf)
	if len(ds.st.Out) > 0 {
		sel, release, err := keepColumns(ds.st, c)
		if err != nil {
			return err
		}
		defer release()
		c = sel
	}
	if len(ds.st.Out) > 0 {
		if err := transport.EncodeTo(buf, c); err != nil {
			return fmt.Errorf("stage %q: %w", ds.st.ID, err)
		}
		if err := d.sendTo(ctx, ds, ds.st.Out, transport.KindData, c.Meta.Scene, id, w, buf.Bytes(), ""); err != nil {
			return err
		}
	}
	ds.m.ChunksOut.Add(1)
	ds.m.PixelsOut.Add(int64(c.Rows()))
	ds.m.BytesOut.Add(int64(c.Bytes()))
	return nil
}

// sendTicket asks an owned stage to claim a scene ("" with run: the run).
func (d *durable) sendTicket(ctx context.Context, to *dstage, scene string) error {
	m := nats.NewMsg(d.names.Open(to.st.ID))
	m.Header.Set(transport.HdrKind, transport.KindOpen)
	id := "open|" + scene
	if to.role == roleRun {
		m.Header.Set(transport.HdrUnit, "run")
		id = "open|_run"
	} else {
		m.Data = []byte(scene)
	}
	return transport.PublishAcked(ctx, d.js, m, id)
}

// sendEOS tells run-owned stages which scenes this stage sent.
func (d *durable) sendEOS(ctx context.Context, from *dstage, scenes []string) error {
	sort.Strings(scenes)
	body := []byte(strings.Join(scenes, "\n"))
	h := fnv.New64a()
	h.Write(body)
	for _, to := range from.eosTo {
		m := nats.NewMsg(d.names.EOS(to.st.ID))
		m.Data = body
		m.Header.Set(transport.HdrKind, transport.KindEOS)
		m.Header.Set(transport.HdrFrom, from.st.ID)
		if err := transport.PublishAcked(ctx, d.js, m, "eos|"+from.st.ID+"|"+strconv.FormatUint(h.Sum64(), 16)); err != nil {
			return err
		}
	}
	return nil
}

// deadLetter publishes a failed message (or scene) to the pipeline's
// dead-letter subject with headers naming stage, scene and error.
func (d *durable) deadLetter(ctx context.Context, ds *dstage, scene, from, id string, deliveries uint64, body []byte, cause error) error {
	m := nats.NewMsg(d.names.DLQ())
	m.Data = body
	m.Header.Set(transport.HdrStage, ds.st.ID)
	m.Header.Set(transport.HdrScene, scene)
	m.Header.Set(transport.HdrFrom, from)
	m.Header.Set(transport.HdrID, id)
	m.Header.Set(transport.HdrRun, d.opt.RunID)
	m.Header.Set(transport.HdrError, cause.Error())
	m.Header.Set(transport.HdrDeliveries, strconv.FormatUint(deliveries, 10))
	d.logf("stage %q, scene %q: dead letter after %d deliveries: %v", ds.st.ID, scene, deliveries, cause)
	return transport.PublishAcked(ctx, d.js, m, "dlq|"+d.opt.RunID+"|"+ds.st.ID+"|"+scene+"|"+from+"|"+id)
}

// heartbeat keeps a message (and optionally a lease) alive until the
// returned function is called; lost is called if the lease is taken.
func (d *durable) heartbeat(m jetstream.Msg, l *lease, lost func()) func() {
	ctx, cancel := context.WithCancel(d.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.do.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = m.InProgress()
				if l != nil {
					if err := l.renew(ctx); err != nil && ctx.Err() == nil {
						d.logf("lost lease %s: %v", l.key, err)
						lost()
						return
					}
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// fetchLoop pulls messages one batch at a time until stop, calling handle
// for each. A pull returns as soon as a message is there; the wait only
// bounds how long an idle pull stays open.
func (d *durable) fetchLoop(cons jetstream.Consumer, batch int, stop context.Context, handle func(jetstream.Msg)) {
	for stop.Err() == nil {
		b, err := cons.Fetch(batch, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			select {
			case <-stop.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if !d.drain(b, stop, handle) {
			return
		}
	}
}

// drain hands the messages of a fetch to handle until it ends (true) or
// stop (false); messages that arrive after stop are handed back at once
// (not left to wait for AckWait).
func (d *durable) drain(b jetstream.MessageBatch, stop context.Context, handle func(jetstream.Msg)) bool {
	msgs := b.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return true
			}
			handle(m)
		case <-stop.Done():
			go func() {
				for m := range msgs {
					_ = m.Nak()
				}
			}()
			return false
		}
	}
}

// errConsumerGone: a unit's consumer was deleted under it (another owner
// took the unit over); the unit starts again.
var errConsumerGone = errors.New("engine: consumer gone")

// stream hands every message of cons to handle as soon as it arrives (pull
// requests for up to batch messages stay open, so nothing waits for a
// batch to fill) until stop. It returns errConsumerGone when the consumer
// disappeared before stop.
func (d *durable) stream(cons jetstream.Consumer, batch int, stop context.Context, handle func(jetstream.Msg)) error {
	// Short-lived pull requests: one that finds no consumer leader (a new
	// replicated consumer electing one, a node restarting) is lost, and
	// is only replaced when it expires.
	it, err := cons.Messages(jetstream.PullMaxMessages(batch), jetstream.PullExpiry(time.Second))
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(stop))
		switch {
		case err == nil:
			handle(m)
		case stop.Err() != nil:
			return nil
		case errors.Is(err, jetstream.ErrMsgIteratorClosed), errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
			return fmt.Errorf("%w: %v", errConsumerGone, err)
		}
		// Missed heartbeats and reconnections: the iterator carries on.
	}
}

func (d *durable) consumer(ctx context.Context, ds *dstage, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	var cons jetstream.Consumer
	err := transport.Retry(ctx, func(ctx context.Context) error {
		var err error
		cons, err = d.js.CreateOrUpdateConsumer(ctx, d.names.Stream(ds.st.ID), cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stage %q: consumer %s: %w", ds.st.ID, cfg.Durable, err)
	}
	return cons, nil
}

// concurrently runs the functions at once and returns the first error.
func concurrently(fs ...func() error) error {
	errs := make(chan error, len(fs))
	for _, f := range fs {
		go func() { errs <- f() }()
	}
	var first error
	for range fs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// sortChunks orders the output of an owned stage so that a rerun assigns
// the same ids to the same chunks.
func sortChunks(cs []*chunk.Chunk) {
	slices.SortStableFunc(cs, func(a, b *chunk.Chunk) int {
		if c := strings.Compare(a.Meta.Scene, b.Meta.Scene); c != 0 {
			return c
		}
		if a.Meta.Index != b.Meta.Index {
			return a.Meta.Index - b.Meta.Index
		}
		if a.Meta.Window.Y != b.Meta.Window.Y {
			return a.Meta.Window.Y - b.Meta.Window.Y
		}
		return a.Meta.Window.X - b.Meta.Window.X
	})
}

// collector is an Emit that keeps chunks.
type collector struct {
	mu  sync.Mutex
	out []*chunk.Chunk
}

func (c *collector) emit(_ context.Context, ch *chunk.Chunk) error {
	c.mu.Lock()
	c.out = append(c.out, ch)
	c.mu.Unlock()
	return nil
}

func (c *collector) take() []*chunk.Chunk {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.out
	c.out = nil
	return out
}

func release(cs []*chunk.Chunk) {
	for _, c := range cs {
		c.Release()
	}
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/transport"
)

var (
	errLeaseLost     = errors.New("engine: lease lost")
	errDoneElsewhere = errors.New("engine: unit finished by another owner")
	errDeliveryLost  = errors.New("engine: deliveries lost")
)

// opError is a failure of the data or the operator (as opposed to the
// transport): retried MaxDeliver times, then dead-lettered.
type opError struct{ error }

func (e opError) Unwrap() error { return e.error }

// startOwned serves a stage that owns scenes (or its whole run): it claims
// tickets from the stage's ticket consumer, at most ScenesPerWorker at once.
func (d *durable) startOwned(ds *dstage) error {
	err := transport.Retry(d.ctx, func(ctx context.Context) error {
		var err error
		ds.stream, err = d.js.Stream(ctx, d.names.Stream(ds.st.ID))
		return err
	})
	if err != nil {
		return fmt.Errorf("stage %q: stream: %w", ds.st.ID, err)
	}
	cons, err := d.consumer(d.ctx, ds, jetstream.ConsumerConfig{
		Durable:       transport.Token(ds.st.ID) + "_open",
		FilterSubject: d.names.Open(ds.st.ID),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.do.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	slots := d.do.ScenesPerWorker
	if ds.role == roleRun {
		slots = 1
	}
	sem := make(chan struct{}, slots)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			select {
			case sem <- struct{}{}:
			case <-d.stop.Done():
				return
			}
			b, err := cons.Fetch(1, jetstream.FetchMaxWait(500*time.Millisecond))
			got := false
			if err == nil {
				d.drain(b, d.stop, func(m jetstream.Msg) {
					got = true
					d.wg.Add(1)
					go func() {
						defer d.wg.Done()
						defer func() { <-sem }()
						d.claim(ds, m)
					}()
				})
			}
			if !got {
				<-sem
				if err != nil {
					select {
					case <-d.stop.Done():
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
		}
	}()
	return nil
}

// unit is one scene (or the run) at an owned stage, claimed by this process.
type unit struct {
	d      *durable
	ds     *dstage
	run    bool
	scene  string // scene units
	tok    string
	prefix string // of the unit's consumer names
	cons   string // this claim's consumer
	filter string
	done   string // key whose value is done once the unit is
	ctx    context.Context
	cancel context.CancelCauseFunc
	col    collector

	mu       sync.Mutex
	scenes   map[string]*sceneAcc
	eos      map[string][]string // producer → scenes it sent
	complete chan struct{}
	closed   bool
	failMsg  jetstream.Msg // the message whose processing failed
}

// sceneAcc adds up what arrived of one scene at an owned stage.
type sceneAcc struct {
	seen    map[string]bool     // from|id of messages taken
	w       map[string]*big.Rat // weight processed per upstream
	aborted bool
	errMsg  string
	ended   bool
}

// claim handles one ticket: skip it if the unit is done, wait if another
// worker holds it, otherwise run the unit from the start.
func (d *durable) claim(ds *dstage, ticket jetstream.Msg) {
	u := &unit{d: d, ds: ds, run: ticket.Headers().Get(transport.HdrUnit) == "run", scene: string(ticket.Data()),
		scenes: map[string]*sceneAcc{}, eos: map[string][]string{}, complete: make(chan struct{})}
	u.done = d.st.finalKey(ds.st.ID)
	if u.run {
		u.tok, u.filter = "all", d.names.AllChunks(ds.st.ID)
	} else {
		u.tok, u.filter = transport.SceneToken(u.scene), d.names.Chunks(ds.st.ID, u.scene)
		u.done = d.st.stageKey(ds.st.ID, u.scene)
	}
	// Each claim reads through a consumer of its own: an owner that lost
	// its lease but has not noticed yet may still pull, and must not take
	// the new owner's messages (delivered to it, they would sit unacked).
	u.prefix = transport.Token(ds.st.ID) + "_" + u.tok + "_"
	u.cons = u.prefix + nuid.Next()
	meta, err := ticket.Metadata()
	if err != nil {
		_ = ticket.Term()
		return
	}
	// From the view: should it lag behind a unit finished elsewhere, the
	// unit's watchdog (see work) notices and drops it.
	if v, err := d.st.value(d.ctx, u.done, false); err != nil || v == SceneDone {
		if err == nil {
			// A previous owner finished the unit; it may have died before
			// recording the scene or cleaning up, so both are repeated.
			if !u.run {
				err = d.st.markStageDone(d.ctx, ds.st.ID, u.scene, d.finals)
			}
			if err == nil {
				err = u.cleanup(d.ctx, true)
			}
		}
		if err != nil {
			_ = ticket.Nak()
			return
		}
		_ = ticket.Ack()
		return
	}
	l := &lease{s: d.st, key: d.names.Key("lease", transport.Token(ds.st.ID), u.tok), owner: d.owner + "." + nuid.Next(), ttl: d.do.AckWait}
	ok, err := l.acquire(d.ctx)
	if err != nil || !ok {
		_ = ticket.NakWithDelay(d.do.AckWait / 2)
		return
	}
	if meta.NumDelivered > 1 {
		ds.m.Redeliveries.Add(1)
	}
	u.ctx, u.cancel = context.WithCancelCause(d.ctx)
	defer u.cancel(nil)
	stopHB := d.heartbeat(ticket, l, func() { u.cancel(errLeaseLost) })
	err = u.work()
	stopHB()
	if err != nil && errors.Is(context.Cause(u.ctx), errLeaseLost) {
		// Whatever call was cut short, the cause is the lost lease.
		err = errLeaseLost
	}
	if errors.Is(err, errDoneElsewhere) {
		// A previous owner, slow rather than dead, finished the unit
		// (and purged its input) after this process took it over.
		u.abortLocal()
		err = u.cleanup(d.ctx, false)
	}
	if err == nil {
		_ = ticket.Ack()
		d.wg.Add(1)
		go func() { // the slot is free already
			defer d.wg.Done()
			l.release(d.ctx)
		}()
		return
	}
	u.abortLocal()
	switch {
	case d.ctx.Err() != nil:
		return // the run failed or was killed: the lease expires
	case errors.Is(err, errLeaseLost):
		// Another process may own the unit now; it deletes this claim's
		// consumer before it starts (deletePrevious), so nothing is
		// cleaned here: hand the ticket back.
		_ = ticket.Nak()
		return
	case d.stop.Err() != nil:
		// Graceful stop: the unit starts again from scratch elsewhere or
		// on restart; nothing of it was acknowledged.
		u.cleanupBounded(false)
		l.release(d.ctx)
		_ = ticket.Nak()
		return
	}
	ds.m.Errors.Add(1)
	if !errors.As(err, new(opError)) {
		d.logf("stage %q, %s: %v (starting it again)", ds.st.ID, u.name(), err)
		u.cleanupBounded(false)
		l.release(d.ctx)
		_ = ticket.NakWithDelay(time.Second)
		return
	}
	if meta.NumDelivered < uint64(d.do.MaxDeliver) {
		d.logf("stage %q, %s: %v (attempt %d of %d; starting it again)", ds.st.ID, u.name(), err, meta.NumDelivered, d.do.MaxDeliver)
		u.cleanupBounded(false)
		l.release(d.ctx)
		_ = ticket.NakWithDelay(time.Duration(meta.NumDelivered) * 200 * time.Millisecond)
		return
	}
	if err := u.fail(err, meta.NumDelivered); err != nil {
		d.logf("stage %q, %s: %v", ds.st.ID, u.name(), err)
		_ = ticket.Nak()
		return
	}
	_ = ticket.Ack()
	l.release(d.ctx)
}

func (u *unit) name() string {
	if u.run {
		return "run"
	}
	return "scene " + strconv.Quote(u.scene)
}

// work consumes the unit's messages from the start until it is complete,
// then ends it and publishes its output.
func (u *unit) work() error {
	d, ds := u.d, u.ds
	var cons jetstream.Consumer
	err := concurrently(func() error {
		if u.run {
			return nil
		}
		_, err := d.st.updateScene(u.ctx, u.scene, func(rec *SceneRecord, _ bool) bool {
			if rec.State != ScenePending {
				return false
			}
			rec.State = SceneRunning
			return true
		})
		return err
	}, func() error {
		// Start from scratch: previous owners' consumers go, with
		// whatever they had delivered (nothing of a unit is acknowledged
		// before its end).
		if err := u.deletePrevious(u.ctx); err != nil {
			return err
		}
		var err error
		cons, err = d.consumer(u.ctx, ds, jetstream.ConsumerConfig{
			Durable:           u.cons,
			FilterSubject:     u.filter,
			AckPolicy:         jetstream.AckExplicitPolicy,
			AckWait:           time.Hour,
			MaxDeliver:        -1,
			MaxAckPending:     -1,
			DeliverPolicy:     jetstream.DeliverAllPolicy,
			InactiveThreshold: time.Hour,
			MemoryStorage:     true,
		})
		return err
	})
	if err != nil {
		return err
	}
	work := make(chan jetstream.Msg)
	var pool sync.WaitGroup
	var received, handled atomic.Uint64 // messages the pull iterator handed over, and finished
	for range ds.st.Replicas {
		pool.Add(1)
		go func() {
			defer pool.Done()
			for m := range work {
				if u.ctx.Err() != nil {
					handled.Add(1)
					continue
				}
				err := u.handle(m)
				handled.Add(1)
				if err != nil {
					u.mu.Lock()
					if u.failMsg == nil {
						u.failMsg = m
					}
					u.mu.Unlock()
					u.cancel(err)
				}
			}
		}()
	}
	fetchCtx, stopFetch := context.WithCancel(u.ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		// Deliveries from the server are at most once: one lost in a
		// reconnection (a node restarting) stays pending on the consumer,
		// whose ack wait spans the whole unit. When the consumer counts
		// more deliveries than arrived while the workers are idle (so
		// nothing waits in the iterator's buffer), and nothing arrives for
		// a whole tick, the unit starts again with a new consumer.
		var lastGap, lastReceived uint64
		// The consumer lives in memory (it holds nothing that a restart
		// of the unit does not rebuild): should it vanish, with a server
		// or by another owner, the unit starts again. Should the unit be
		// recorded done meanwhile, its input is gone: it ends.
		t := time.NewTicker(d.do.AckWait / 3)
		defer t.Stop()
		changed := d.st.changes()
		for {
			select {
			case <-u.complete:
			case <-d.stop.Done():
			case <-fetchCtx.Done():
			case <-changed:
				changed = d.st.changes()
				if v, _ := d.st.value(fetchCtx, u.done, false); v != SceneDone {
					continue
				}
				u.cancel(errDoneElsewhere)
			case <-t.C:
				if v, _ := d.st.value(fetchCtx, u.done, true); v == SceneDone {
					u.cancel(errDoneElsewhere)
					break
				}
				ci, err := cons.Info(fetchCtx)
				if errors.Is(err, jetstream.ErrConsumerNotFound) {
					u.cancel(errConsumerGone)
					break
				}
				if err != nil {
					continue
				}
				got := received.Load()
				gap := uint64(0)
				if ci.Delivered.Consumer > got {
					gap = ci.Delivered.Consumer - got
				}
				if gap > 0 && lastGap > 0 && got == lastReceived && handled.Load() == got {
					u.cancel(fmt.Errorf("%w: the consumer delivered %d messages, %d arrived", errDeliveryLost, ci.Delivered.Consumer, got))
					break
				}
				lastGap, lastReceived = gap, got
				continue
			}
			stopFetch()
			return
		}
	}()
	// A few messages ahead of the workers: chunks can be megabytes.
	serr := d.stream(cons, 2*ds.st.Replicas+2, fetchCtx, func(m jetstream.Msg) {
		received.Add(1)
		select {
		case work <- m:
		case <-fetchCtx.Done():
		}
	})
	close(work)
	pool.Wait()
	stopFetch()
	<-watched // before the unit records itself done
	if err := context.Cause(u.ctx); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	select {
	case <-u.complete:
	default:
		return d.stop.Err() // stopped before the unit was complete
	}
	if u.run {
		return u.finishRun()
	}
	return u.finishScene()
}

// handle takes one message of the unit.
func (u *unit) handle(m jetstream.Msg) error {
	ds := u.ds
	h := m.Headers()
	kind, from, scene, id := h.Get(transport.HdrKind), h.Get(transport.HdrFrom), h.Get(transport.HdrScene), h.Get(transport.HdrID)
	if meta, err := m.Metadata(); err == nil && meta.NumDelivered > 1 {
		ds.m.Redeliveries.Add(1)
	}
	if kind == transport.KindEOS {
		var scenes []string
		if len(m.Data()) > 0 {
			scenes = strings.Split(string(m.Data()), "\n")
		}
		u.mu.Lock()
		u.eos[from] = append(u.eos[from], scenes...)
		u.mu.Unlock()
		return u.check()
	}
	w, err := weight(h)
	if err != nil {
		return opError{err}
	}
	u.mu.Lock()
	acc := u.acc(scene)
	key := from + "|" + id
	dup := acc.seen[key] || acc.ended
	acc.seen[key] = true
	u.mu.Unlock()
	if dup {
		return nil
	}
	switch kind {
	case transport.KindData:
		ds.m.InFlight.Add(1)
		start := time.Now()
		c, err := transport.Decode(m.Data(), nil)
		if err != nil {
			ds.m.InFlight.Add(-1)
			return opError{fmt.Errorf("stage %q, scene %q: %w", ds.st.ID, scene, err)}
		}
		ds.m.ChunksIn.Add(1)
		ds.m.PixelsIn.Add(int64(c.Rows()))
		ds.m.BytesIn.Add(int64(len(m.Data())))
		err = ds.proc.Process(u.ctx, c, u.col.emit)
		c.Release()
		ds.m.InFlight.Add(-1)
		d := time.Since(start)
		ds.m.BusyNs.Add(int64(d))
		ds.m.ObserveLatency(d)
		if err != nil {
			return opError{fmt.Errorf("stage %q (%s), scene %q: %w", ds.st.ID, ds.st.Op, scene, err)}
		}
	case transport.KindEmpty:
	case transport.KindAbort:
		u.mu.Lock()
		acc.aborted = true
		if acc.errMsg == "" {
			acc.errMsg = h.Get(transport.HdrError)
		}
		u.mu.Unlock()
	default:
		return opError{fmt.Errorf("stage %q: unexpected message kind %q", ds.st.ID, kind)}
	}
	u.mu.Lock()
	if acc.w[from] == nil {
		acc.w[from] = new(big.Rat)
	}
	acc.w[from].Add(acc.w[from], w)
	over := acc.w[from].Cmp(big.NewRat(1, 1)) > 0
	u.mu.Unlock()
	if over {
		return opError{fmt.Errorf("stage %q, scene %q: more than the whole scene arrived from %q", ds.st.ID, scene, from)}
	}
	return u.check()
}

// acc returns a scene's accumulator; u.mu must be held.
func (u *unit) acc(scene string) *sceneAcc {
	a, ok := u.scenes[scene]
	if !ok {
		a = &sceneAcc{seen: map[string]bool{}, w: map[string]*big.Rat{}}
		u.scenes[scene] = a
	}
	return a
}

// whole reports whether every input delivered all of a scene; u.mu held.
func (u *unit) whole(a *sceneAcc) bool {
	one := big.NewRat(1, 1)
	for _, in := range u.ds.st.In {
		if a.w[in] == nil || a.w[in].Cmp(one) != 0 {
			return false
		}
	}
	return true
}

// check ends scenes that became whole (run units end each scene as it
// completes) and signals completion of the unit.
func (u *unit) check() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	if !u.run {
		if a := u.scenes[u.scene]; a != nil && u.whole(a) {
			u.closed = true
			close(u.complete)
		}
		u.mu.Unlock()
		return nil
	}
	var ready []string
	for name, a := range u.scenes {
		if !a.ended && u.whole(a) {
			a.ended = true
			ready = append(ready, name)
		}
	}
	u.mu.Unlock()
	for _, name := range ready {
		if err := u.endScene(name); err != nil {
			return err
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	for _, p := range u.ds.eosFrom {
		list, ok := u.eos[p]
		if !ok {
			return nil
		}
		for _, s := range list {
			if a := u.scenes[s]; a == nil || !a.ended {
				return nil
			}
		}
	}
	u.closed = true
	close(u.complete)
	return nil
}

// endScene ends one scene at a run unit.
func (u *unit) endScene(name string) error {
	u.mu.Lock()
	a := u.scenes[name]
	aborted, msg := a.aborted, a.errMsg
	u.mu.Unlock()
	d, ds := u.d, u.ds
	if aborted {
		if ab, ok := ds.proc.(interface{ AbortScene(string) }); ok {
			ab.AbortScene(name)
		}
		d.sceneFailed(name, msg)
		return d.st.put(u.ctx, d.st.stageKey(ds.st.ID, name), SceneFailed)
	}
	if se, ok := ds.proc.(op.SceneEnder); ok {
		if err := se.EndScene(u.ctx, name, u.col.emit); err != nil {
			return opError{fmt.Errorf("stage %q (%s), scene %q: %w", ds.st.ID, ds.st.Op, name, err)}
		}
	}
	ds.m.Scenes.Add(1)
	// Marks progress for the sources' flow control; the scene is done
	// only once the run unit finished.
	return d.st.put(u.ctx, d.st.stageKey(ds.st.ID, name), sceneEnded)
}

// finishScene ends a scene unit: EndScene (or AbortScene), output
// published and acknowledged, state recorded, input purged.
func (u *unit) finishScene() error {
	d, ds := u.d, u.ds
	u.mu.Lock()
	a := u.scenes[u.scene]
	aborted, msg := a.aborted, a.errMsg
	u.mu.Unlock()
	if aborted {
		if ab, ok := ds.proc.(interface{ AbortScene(string) }); ok {
			ab.AbortScene(u.scene)
		}
		if err := d.sendTo(u.ctx, ds, ds.st.Out, transport.KindAbort, u.scene, "abort", big.NewRat(1, 1), nil, msg); err != nil {
			return err
		}
		d.sceneFailed(u.scene, msg)
		if err := d.st.markFailed(u.ctx, ds.st.ID, u.scene, msg); err != nil {
			return err
		}
		return u.cleanup(u.ctx, true)
	}
	if se, ok := ds.proc.(op.SceneEnder); ok {
		start := time.Now()
		err := se.EndScene(u.ctx, u.scene, u.col.emit)
		ds.m.BusyNs.Add(int64(time.Since(start)))
		if err != nil {
			return opError{fmt.Errorf("stage %q (%s), scene %q: %w", ds.st.ID, ds.st.Op, u.scene, err)}
		}
	}
	if _, err := u.publish(map[string]bool{u.scene: true}); err != nil {
		return err
	}
	ds.m.Scenes.Add(1)
	if err := d.st.markStageDone(u.ctx, ds.st.ID, u.scene, d.finals); err != nil {
		return err
	}
	return u.cleanup(u.ctx, true)
}

// finishRun ends a run unit: scenes never completed are aborted, Finish
// runs, output is published with tickets and an end of stream, and every
// scene is recorded.
func (u *unit) finishRun() error {
	d, ds := u.d, u.ds
	u.mu.Lock()
	var open, ended []string
	failed := map[string]string{}
	for name, a := range u.scenes {
		switch {
		case !a.ended:
			open = append(open, name)
		case a.aborted:
			failed[name] = a.errMsg
		default:
			ended = append(ended, name)
		}
	}
	u.mu.Unlock()
	for _, name := range open {
		d.logf("stage %q: scene %q was not announced by any end of stream and is incomplete; dropped", ds.st.ID, name)
		if ab, ok := ds.proc.(interface{ AbortScene(string) }); ok {
			ab.AbortScene(name)
		}
	}
	if f, ok := ds.proc.(op.Finisher); ok {
		start := time.Now()
		err := f.Finish(u.ctx, u.col.emit)
		ds.m.BusyNs.Add(int64(time.Since(start)))
		if err != nil {
			return opError{fmt.Errorf("stage %q (%s): %w", ds.st.ID, ds.st.Op, err)}
		}
	}
	sent, err := u.publish(nil)
	if err != nil {
		return err
	}
	if err := d.sendEOS(u.ctx, ds, sent); err != nil {
		return err
	}
	sort.Strings(ended)
	for _, name := range ended {
		if err := d.st.markStageDone(u.ctx, ds.st.ID, name, d.finals); err != nil {
			return err
		}
	}
	for name, msg := range failed {
		if err := d.st.markFailed(u.ctx, ds.st.ID, name, msg); err != nil {
			return err
		}
	}
	if err := d.st.put(u.ctx, d.st.finalKey(ds.st.ID), SceneDone); err != nil {
		return err
	}
	return u.cleanup(u.ctx, true)
}

// publish sends the unit's collected output downstream, per scene in a
// fixed order with equal shares; scenes in want without output get an
// empty marker. Run units send tickets first. It returns the scenes sent.
func (u *unit) publish(want map[string]bool) ([]string, error) {
	d, ds := u.d, u.ds
	outs := u.col.take()
	defer release(outs)
	if len(ds.st.Out) == 0 {
		return nil, nil
	}
	sortChunks(outs)
	groups := map[string][]*chunk.Chunk{}
	var order []string
	for _, o := range outs {
		if _, ok := groups[o.Meta.Scene]; !ok {
			order = append(order, o.Meta.Scene)
		}
		groups[o.Meta.Scene] = append(groups[o.Meta.Scene], o)
	}
	for s := range want {
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
	}
	for _, s := range order {
		if u.run {
			for _, t := range ds.announce {
				if err := d.sendTicket(u.ctx, t, s); err != nil {
					return nil, err
				}
			}
		}
		g := groups[s]
		if len(g) == 0 {
			if err := d.sendTo(u.ctx, ds, ds.st.Out, transport.KindEmpty, s, "o", big.NewRat(1, 1), nil, ""); err != nil {
				return nil, err
			}
			continue
		}
		share := big.NewRat(1, int64(len(g)))
		for j, c := range g {
			if err := d.sendChunk(u.ctx, ds, c, "o"+strconv.Itoa(j), share); err != nil {
				return nil, err
			}
		}
	}
	return order, nil
}

// fail gives up a unit after MaxDeliver attempts: the failing message goes
// to the dead-letter subject, the scene(s) are recorded as failed, and
// downstream stages get abort markers.
func (u *unit) fail(cause error, deliveries uint64) error {
	d, ds := u.d, u.ds
	ctx := d.ctx
	var body []byte
	from, id, scene := "", "", u.scene
	if m := u.failMsg; m != nil {
		body = m.Data()
		from, id = m.Headers().Get(transport.HdrFrom), m.Headers().Get(transport.HdrID)
		scene = m.Headers().Get(transport.HdrScene)
	}
	if err := d.deadLetter(ctx, ds, scene, from, id, deliveries, body, cause); err != nil {
		return err
	}
	scenes := []string{u.scene}
	if u.run {
		u.mu.Lock()
		scenes = scenes[:0]
		for name := range u.scenes {
			scenes = append(scenes, name)
		}
		u.mu.Unlock()
	}
	for _, s := range scenes {
		d.sceneFailed(s, cause.Error())
		if err := d.st.markFailed(ctx, ds.st.ID, s, cause.Error()); err != nil {
			return err
		}
		if err := d.sendTo(ctx, ds, ds.st.Out, transport.KindAbort, s, "abort", big.NewRat(1, 1), nil, cause.Error()); err != nil {
			return err
		}
	}
	if u.run {
		if err := d.sendEOS(ctx, ds, scenes); err != nil {
			return err
		}
		if err := d.st.put(ctx, d.st.finalKey(ds.st.ID), SceneFailed); err != nil {
			return err
		}
	}
	return u.cleanup(ctx, true)
}

// abortLocal drops what this process holds of the unit.
func (u *unit) abortLocal() {
	release(u.col.take())
	ab, ok := u.ds.proc.(interface{ AbortScene(string) })
	if !ok {
		return
	}
	u.mu.Lock()
	var names []string
	for name, a := range u.scenes {
		if !a.ended || u.run {
			names = append(names, name)
		}
	}
	if !u.run && len(names) == 0 {
		names = append(names, u.scene)
	}
	u.mu.Unlock()
	for _, n := range names {
		ab.AbortScene(n)
	}
}

// cleanupBounded is cleanup before a unit starts again: tried for a few
// ack-waits at most (the server may be failing over), since the next owner
// deletes the consumer before it starts anyway. The claim, and its slot,
// must not wait on it for ever.
func (u *unit) cleanupBounded(purge bool) {
	ctx, cancel := context.WithTimeout(u.d.ctx, 3*u.d.do.AckWait)
	defer cancel()
	if err := u.cleanup(ctx, purge); err != nil {
		u.d.logf("stage %q, %s: %v (left to the next owner)", u.ds.st.ID, u.name(), err)
	}
}

// cleanup deletes the unit's consumer and, with purge, its messages.
func (u *unit) cleanup(ctx context.Context, purge bool) error {
	return concurrently(func() error {
		if !purge {
			return nil
		}
		err := transport.Retry(ctx, func(ctx context.Context) error {
			return u.ds.stream.Purge(ctx, jetstream.WithPurgeSubject(u.filter))
		})
		if err != nil {
			return fmt.Errorf("stage %q: purge %s: %w", u.ds.st.ID, u.filter, err)
		}
		return nil
	}, func() error { return u.deleteConsumer(ctx) })
}

// deletePrevious deletes the consumers of earlier claims of the unit.
func (u *unit) deletePrevious(ctx context.Context) error {
	var names []string
	err := transport.Retry(ctx, func(ctx context.Context) error {
		names = names[:0]
		l := u.ds.stream.ConsumerNames(ctx)
		for n := range l.Name() {
			// prefix + a 22-character nuid: not a unit whose token
			// merely starts like this one's.
			if strings.HasPrefix(n, u.prefix) && len(n) == len(u.prefix)+22 && !strings.Contains(n[len(u.prefix):], "_") && n != u.cons {
				names = append(names, n)
			}
		}
		return l.Err()
	})
	if err != nil {
		return fmt.Errorf("stage %q: list consumers: %w", u.ds.st.ID, err)
	}
	for _, n := range names {
		if err := u.deleteNamed(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// deleteConsumer deletes this claim's consumer.
func (u *unit) deleteConsumer(ctx context.Context) error { return u.deleteNamed(ctx, u.cons) }

// deleteNamed deletes one of the unit's consumers (gone already is fine).
func (u *unit) deleteNamed(ctx context.Context, name string) error {
	d := u.d
	err := transport.Retry(ctx, func(ctx context.Context) error {
		err := d.js.DeleteConsumer(ctx, d.names.Stream(u.ds.st.ID), name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("stage %q: delete consumer %s: %w", u.ds.st.ID, name, err)
	}
	return nil
}

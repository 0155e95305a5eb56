package engine

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rasterflow/rasterflow/transport"
)

// startStateless joins the stage's shared pull consumer with `replicas`
// fetch loops: any process serving the stage takes any chunk.
func (d *durable) startStateless(ds *dstage) error {
	map_ := d.do.MaxAckPending
	if map_ <= 0 {
		map_ = max(8, 4*ds.st.Replicas)
	}
	cons, err := d.consumer(d.ctx, ds, jetstream.ConsumerConfig{
		Durable:       transport.Token(ds.st.ID),
		FilterSubject: d.names.AllChunks(ds.st.ID),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.do.AckWait,
		MaxDeliver:    -1, // dead-lettering is ours: see handleStateless
		MaxAckPending: map_,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	for range ds.st.Replicas {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.fetchLoop(cons, 1, d.stop, func(m jetstream.Msg) { d.handleStateless(ds, m) })
		}()
	}
	return nil
}

// outID names output j of input message id from upstream `from`.
func outID(ds *dstage, from, id string, j int) string {
	if len(ds.st.In) > 1 {
		id = from + "~" + id
	}
	return id + "." + strconv.Itoa(j)
}

// handleStateless processes one chunk: its outputs are published (and
// acknowledged by JetStream) before the chunk is acknowledged. A chunk
// that failed MaxDeliver times goes to the dead-letter subject and its
// weight travels on as an abort marker, so the scene ends as failed
// downstream while other scenes flow.
func (d *durable) handleStateless(ds *dstage, m jetstream.Msg) {
	ctx := d.ctx
	h := m.Headers()
	kind, from, scene, id := h.Get(transport.HdrKind), h.Get(transport.HdrFrom), h.Get(transport.HdrScene), h.Get(transport.HdrID)
	meta, err := m.Metadata()
	if err != nil {
		d.logf("stage %q: %v", ds.st.ID, err)
		_ = m.Term()
		return
	}
	if meta.NumDelivered > 1 {
		ds.m.Redeliveries.Add(1)
	}
	w, err := weight(h)
	if err == nil && kind != transport.KindData && kind != transport.KindEmpty && kind != transport.KindAbort {
		err = fmt.Errorf("engine: unexpected message kind %q", kind)
	}
	if err != nil {
		d.poison(ds, m, scene, from, id, big.NewRat(0, 1), meta.NumDelivered, err)
		return
	}
	if kind != transport.KindData {
		// Markers carry their weight on.
		if err := d.sendTo(ctx, ds, ds.st.Out, kind, scene, outID(ds, from, id, 0), w, nil, h.Get(transport.HdrError)); err != nil {
			_ = m.Nak()
			return
		}
		_ = m.Ack()
		return
	}
	stopHB := d.heartbeat(m, nil, nil)
	defer stopHB()
	ds.m.InFlight.Add(1)
	defer ds.m.InFlight.Add(-1)
	start := time.Now()
	c, err := transport.Decode(m.Data(), nil)
	if err != nil {
		d.poison(ds, m, scene, from, id, w, meta.NumDelivered, err)
		return
	}
	ds.m.ChunksIn.Add(1)
	ds.m.PixelsIn.Add(int64(c.Rows()))
	ds.m.BytesIn.Add(int64(len(m.Data())))
	var col collector
	err = ds.proc.Process(ctx, c, col.emit)
	c.Release()
	outs := col.take()
	defer release(outs)
	if err != nil {
		ds.m.Errors.Add(1)
		if ctx.Err() != nil {
			_ = m.Nak()
			return
		}
		err = fmt.Errorf("stage %q (%s), scene %q, chunk %d/%d: %w", ds.st.ID, ds.st.Op, scene, c.Meta.Index, c.Meta.Total, err)
		if meta.NumDelivered >= uint64(d.do.MaxDeliver) {
			d.poison(ds, m, scene, from, id, w, meta.NumDelivered, err)
			return
		}
		d.logf("%v (attempt %d of %d)", err, meta.NumDelivered, d.do.MaxDeliver)
		_ = m.NakWithDelay(time.Duration(meta.NumDelivered) * 200 * time.Millisecond)
		return
	}
	if len(outs) == 0 {
		err = d.sendTo(ctx, ds, ds.st.Out, transport.KindEmpty, scene, outID(ds, from, id, 0), w, nil, "")
	}
	share := new(big.Rat).Quo(w, big.NewRat(int64(max(len(outs), 1)), 1))
	for j, o := range outs {
		if err != nil {
			break
		}
		if o.Meta.Scene != scene {
			err = fmt.Errorf("stage %q: durable runs need chunks to stay in their scene (got %q from %q)", ds.st.ID, o.Meta.Scene, scene)
			break
		}
		err = d.sendChunk(ctx, ds, o, outID(ds, from, id, j), share)
	}
	busy := time.Since(start)
	ds.m.BusyNs.Add(int64(busy))
	ds.m.ObserveLatency(busy)
	if err != nil {
		if ctx.Err() == nil {
			d.logf("stage %q: %v", ds.st.ID, err)
		}
		_ = m.Nak()
		return
	}
	_ = m.Ack()
}

// poison dead-letters a chunk, records its scene as failed, sends its
// weight on as an abort marker and acknowledges it.
func (d *durable) poison(ds *dstage, m jetstream.Msg, scene, from, id string, w *big.Rat, deliveries uint64, cause error) {
	ctx := d.ctx
	ds.m.Errors.Add(1)
	err := d.deadLetter(ctx, ds, scene, from, id, deliveries, m.Data(), cause)
	if err == nil && scene != "" {
		d.sceneFailed(scene, cause.Error())
		err = d.st.markFailed(ctx, ds.st.ID, scene, cause.Error())
	}
	if err == nil && scene != "" {
		err = d.sendTo(ctx, ds, ds.st.Out, transport.KindAbort, scene, outID(ds, from, id, 0), w, nil, cause.Error())
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			d.logf("stage %q: dead-lettering: %v", ds.st.ID, err)
		}
		_ = m.Nak()
		return
	}
	_ = m.Term()
}

package engine

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/transport"
)

// sourceRun drives one source stage of a durable run.
type sourceRun struct {
	d    *durable
	ds   *dstage
	done chan struct{}

	mu     sync.Mutex
	scenes map[string]*srcScene
	order  []string            // scenes in the order they started
	active map[string]struct{} // admitted and not finished
}

type srcScene struct {
	once    sync.Once
	skip    bool
	err     error
	emitted int
	total   int // set when the scene took a place among the open ones
}

func (sr *sourceRun) scene(name string) *srcScene {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	s, ok := sr.scenes[name]
	if !ok {
		s = &srcScene{}
		sr.scenes[name] = s
		sr.order = append(sr.order, name)
	}
	return s
}

// seen lists the scenes the source started (skipped ones included).
func (sr *sourceRun) seen() []string {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return append([]string(nil), sr.order...)
}

func (sr *sourceRun) run(drainCtx context.Context) {
	d, ds := sr.d, sr.ds
	defer d.wg.Done()
	defer close(sr.done)
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	stopAfter := context.AfterFunc(drainCtx, cancel)
	defer stopAfter()
	start := time.Now()
	err := ds.prod.Run(ctx, sr.emit)
	ds.m.BusyNs.Add(int64(time.Since(start)))
	if d.ctx.Err() != nil {
		return
	}
	if drainCtx.Err() != nil {
		d.logf("stage %q: stopped; scenes not sent completely are resumed by the next run", ds.st.ID)
		return
	}
	if err != nil {
		ds.m.Errors.Add(1)
		d.cancel(fmt.Errorf("stage %q (%s): %w", ds.st.ID, ds.st.Op, err))
		return
	}
	var sent []string
	sr.mu.Lock()
	for _, name := range sr.order {
		if s := sr.scenes[name]; !s.skip {
			sent = append(sent, name)
		}
	}
	sr.mu.Unlock()
	if err := d.sendEOS(d.ctx, ds, sent); err != nil {
		d.cancel(err)
	}
}

// emit publishes a source chunk: the first chunk of a scene checks the
// scene's state (done scenes are skipped), waits for room among the open
// scenes, and sends the tickets of the scene.
func (sr *sourceRun) emit(ctx context.Context, c *chunk.Chunk) error {
	defer c.Release()
	d, ds := sr.d, sr.ds
	name := c.Meta.Scene
	if c.Meta.Total <= 0 || c.Meta.Index < 0 || c.Meta.Index >= c.Meta.Total {
		return fmt.Errorf("engine: durable runs need sources that number chunks (scene %q: chunk %d of %d)", name, c.Meta.Index, c.Meta.Total)
	}
	s := sr.scene(name)
	s.once.Do(func() { s.skip, s.err = sr.open(ctx, name, c.Meta.Total) })
	if s.err != nil || s.skip {
		return s.err
	}
	if err := d.sendChunk(ctx, ds, c, strconv.Itoa(c.Meta.Index), big.NewRat(1, int64(c.Meta.Total))); err != nil {
		return err
	}
	sr.mu.Lock()
	s.emitted++
	full := s.emitted == s.total
	sr.mu.Unlock()
	if full {
		ds.m.Scenes.Add(1)
	}
	return nil
}

func (sr *sourceRun) open(ctx context.Context, name string, total int) (skip bool, err error) {
	d := sr.d
	rec, ok, err := d.st.scene(ctx, name)
	if err != nil {
		return false, err
	}
	if ok && rec.State == SceneDone {
		d.logf("scene %s: already done, skipped", name)
		return true, nil
	}
	// Room among the open scenes. The count and the taking of a place
	// happen under sr.mu, so scenes a source opens at once (emitting from
	// several goroutines) cannot all pass on the same count.
	if err := d.st.waitState(ctx, d.do.Poll, func(fresh bool) (bool, error) {
		if _, err := sr.unfinished(ctx, false, fresh); err != nil {
			return false, err
		}
		sr.mu.Lock()
		defer sr.mu.Unlock()
		if len(sr.active) >= d.do.MaxOpenScenes {
			return false, nil
		}
		s := sr.scenes[name]
		s.total = total
		sr.active[name] = struct{}{}
		return true, nil
	}); err != nil {
		return false, err
	}
	if _, err := d.st.updateScene(ctx, name, func(rec *SceneRecord, exists bool) bool {
		if exists && (rec.State == ScenePending || rec.State == SceneRunning) {
			return false
		}
		rec.State, rec.Error, rec.Done = ScenePending, "", nil
		return true
	}); err != nil {
		return false, err
	}
	for _, t := range sr.ds.announce {
		if err := d.sendTicket(ctx, t, name); err != nil {
			return false, err
		}
	}
	return false, nil
}

// unfinished counts the scenes this source opened that the stages it
// announces to have not all finished; with complete, only scenes it sent
// completely. fresh reads the state directly instead of from the view.
func (sr *sourceRun) unfinished(ctx context.Context, complete, fresh bool) (int, error) {
	sr.mu.Lock()
	var open []string
	for name := range sr.active {
		if s := sr.scenes[name]; !complete || s.emitted == s.total {
			open = append(open, name)
		}
	}
	sr.mu.Unlock()
	n := 0
	for _, name := range open {
		fin, err := sr.finished(ctx, name, fresh)
		if err != nil {
			return 0, err
		}
		if fin {
			sr.mu.Lock()
			delete(sr.active, name) // no need to look again
			sr.mu.Unlock()
		} else {
			n++
		}
	}
	return n, nil
}

func (sr *sourceRun) finished(ctx context.Context, name string, fresh bool) (bool, error) {
	d := sr.d
	for _, t := range sr.ds.announce {
		v, err := d.st.value(ctx, d.st.stageKey(t.st.ID, name), fresh)
		if err != nil {
			return false, err
		}
		if v != SceneDone && v != SceneFailed && v != sceneEnded {
			return false, nil
		}
	}
	return true, nil
}

// failScene handles a scene the source could not read: it goes to the
// dead-letter subject with its error, its record becomes failed, and what
// was sent of it is aborted downstream (the weight not sent travels as an
// abort marker); the source goes on with its other scenes.
func (sr *sourceRun) failScene(name string, cause error) {
	d, ds := sr.d, sr.ds
	ctx := d.ctx
	ds.m.Errors.Add(1)
	d.logf("stage %q: scene %s failed: %v", ds.st.ID, name, cause)
	err := d.deadLetter(ctx, ds, name, ds.st.ID, "source", 1, nil, cause)
	if err == nil {
		d.sceneFailed(name, cause.Error())
		err = d.st.markFailed(ctx, ds.st.ID, name, cause.Error())
	}
	sr.mu.Lock()
	s, opened := sr.scenes[name]
	remaining, total := 0, 0
	if opened {
		total, remaining = s.total, s.total-s.emitted
	}
	sr.mu.Unlock()
	if err == nil && opened && total > 0 && remaining > 0 {
		err = d.sendTo(ctx, ds, ds.st.Out, transport.KindAbort, name, "source-abort", big.NewRat(int64(remaining), int64(total)), nil, cause.Error())
	}
	if err != nil && ctx.Err() == nil {
		d.cancel(fmt.Errorf("stage %q: dead-lettering scene %s: %w", ds.st.ID, name, err))
	}
}

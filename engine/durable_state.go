package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rasterflow/rasterflow/transport"
)

// Scene states in the key-value bucket.
const (
	ScenePending = "pending"
	SceneRunning = "running"
	SceneDone    = "done"
	SceneFailed  = "failed"
	// sceneEnded (stage keys only): a run-owned stage ended the scene but
	// keeps its state until the run ends.
	sceneEnded = "ended"
)

// SceneRecord is the value of a scene's key (<run>.scene.s-<scene>) in the
// pipeline's bucket.
type SceneRecord struct {
	Scene string `json:"scene"`
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Done lists the final stages (those without downstream stages) that
	// completed the scene; the scene is done when all did.
	Done    []string  `json:"done,omitempty"`
	Updated time.Time `json:"updated"`
}

// store wraps the bucket of a run.
type store struct {
	kv    jetstream.KeyValue
	names transport.Names
	now   func() time.Time
	view  *view // nil until watch
}

func (s *store) sceneKey(scene string) string {
	return s.names.Key("scene", transport.SceneToken(scene))
}

// stageKey records that a stage finished (done or failed) a scene.
func (s *store) stageKey(stage, scene string) string {
	return s.names.Key("stage", transport.Token(stage), transport.SceneToken(scene))
}

func (s *store) finalKey(stage string) string { return s.names.Key("final", transport.Token(stage)) }
func (s *store) runKey() string               { return s.names.Key("run") }

// get returns a key's value, "" when it does not exist.
func (s *store) get(ctx context.Context, key string) (string, error) {
	var v string
	err := transport.Retry(ctx, func(ctx context.Context) error {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			v = ""
			return nil
		}
		if err != nil {
			return err
		}
		v = string(e.Value())
		if s.view != nil {
			s.view.set(key, v, e.Revision())
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("engine: read %s: %w", key, err)
	}
	return v, nil
}

func (s *store) put(ctx context.Context, key, value string) error {
	var rev uint64
	err := transport.Retry(ctx, func(ctx context.Context) error {
		var err error
		rev, err = s.kv.PutString(ctx, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("engine: write %s: %w", key, err)
	}
	if s.view != nil {
		s.view.set(key, value, rev)
	}
	return nil
}

// scene reads a scene's record; ok is false when the scene is unknown.
func (s *store) scene(ctx context.Context, scene string) (rec SceneRecord, ok bool, err error) {
	v, err := s.get(ctx, s.sceneKey(scene))
	if err != nil || v == "" {
		return rec, false, err
	}
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return rec, false, fmt.Errorf("engine: scene record %s: %w", scene, err)
	}
	return rec, true, nil
}

// updateScene changes a scene's record with optimistic concurrency: fn
// edits the record read (exists says whether there was one) and returns
// whether to write it; a concurrent change makes it read and try again.
func (s *store) updateScene(ctx context.Context, scene string, fn func(rec *SceneRecord, exists bool) bool) (SceneRecord, error) {
	key := s.sceneKey(scene)
	for attempt := 0; ; attempt++ {
		var rec SceneRecord
		var rev uint64
		exists := false
		err := transport.Retry(ctx, func(ctx context.Context) error {
			e, err := s.kv.Get(ctx, key)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			rev, exists = e.Revision(), true
			return json.Unmarshal(e.Value(), &rec)
		})
		if err != nil {
			return rec, fmt.Errorf("engine: scene record %s: %w", scene, err)
		}
		rec.Scene = scene
		if !fn(&rec, exists) {
			return rec, nil
		}
		rec.Updated = s.now().UTC()
		data, _ := json.Marshal(rec)
		err = transport.Retry(ctx, func(ctx context.Context) error {
			var err error
			if exists {
				_, err = s.kv.Update(ctx, key, data, rev)
			} else {
				_, err = s.kv.Create(ctx, key, data)
			}
			return err
		})
		if err == nil {
			return rec, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			return rec, fmt.Errorf("engine: scene record %s: %w", scene, err)
		}
		if attempt > 1000 {
			return rec, fmt.Errorf("engine: scene record %s: too many concurrent updates", scene)
		}
	}
}

// lease is exclusive ownership of a unit (a scene or a whole run at one
// stage), kept alive by renewals; an owner that stops renewing loses it
// after ttl. Its value is "OWNER EXPIRY-UNIX-NANOS".
type lease struct {
	s     *store
	key   string
	owner string
	ttl   time.Duration
	rev   uint64
}

func (l *lease) value() []byte {
	return []byte(l.owner + " " + strconv.FormatInt(l.s.now().Add(l.ttl).UnixNano(), 10))
}

// acquire takes the lease; ok is false while another owner holds it.
func (l *lease) acquire(ctx context.Context) (ok bool, err error) {
	err = transport.Retry(ctx, func(ctx context.Context) error {
		rev, err := l.s.kv.Create(ctx, l.key, l.value())
		if err == nil {
			l.rev, ok = rev, true
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		e, err := l.s.kv.Get(ctx, l.key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil // deleted meanwhile: try again on the next ticket
		}
		if err != nil {
			return err
		}
		owner, exp, _ := strings.Cut(string(e.Value()), " ")
		ns, _ := strconv.ParseInt(exp, 10, 64)
		if owner != l.owner && l.s.now().UnixNano() < ns {
			return nil
		}
		rev, err = l.s.kv.Update(ctx, l.key, l.value(), e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil
		}
		if err != nil {
			return err
		}
		l.rev, ok = rev, true
		return nil
	})
	return ok, err
}

// renew extends the lease; it fails when someone else took it. An update
// that went through but whose answer was lost (a node restarting) makes
// the retry fail on the revision: the lease is still ours if it names us
// (owners are unique per claim).
func (l *lease) renew(ctx context.Context) error {
	return transport.Retry(ctx, func(ctx context.Context) error {
		rev, err := l.s.kv.Update(ctx, l.key, l.value(), l.rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			e, gerr := l.s.kv.Get(ctx, l.key)
			if gerr != nil {
				// Unknown (a transient error is retried), not lost.
				return gerr
			}
			if owner, _, _ := strings.Cut(string(e.Value()), " "); owner != l.owner {
				return err
			}
			rev, err = l.s.kv.Update(ctx, l.key, l.value(), e.Revision())
		}
		if err != nil {
			return err
		}
		l.rev = rev
		return nil
	})
}

// release gives the lease up if it is still ours.
func (l *lease) release(ctx context.Context) {
	_ = transport.Retry(ctx, func(ctx context.Context) error {
		err := l.s.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	})
}

// markStageDone records that stage completed scene; finals lists the stages
// without downstream stages, whose completion makes the scene done.
// The scene record goes first (see view); a claim that finds the stage key
// done repeats this, in case its owner died in between.
func (s *store) markStageDone(ctx context.Context, stage, scene string, finals []string) error {
	if slices.Contains(finals, stage) {
		if err := s.markSceneDone(ctx, stage, scene, finals); err != nil {
			return err
		}
	}
	return s.put(ctx, s.stageKey(stage, scene), SceneDone)
}

func (s *store) markSceneDone(ctx context.Context, stage, scene string, finals []string) error {
	_, err := s.updateScene(ctx, scene, func(rec *SceneRecord, _ bool) bool {
		if slices.Contains(rec.Done, stage) && rec.State == SceneDone {
			return false
		}
		if !slices.Contains(rec.Done, stage) {
			rec.Done = append(rec.Done, stage)
		}
		all := true
		for _, f := range finals {
			if !slices.Contains(rec.Done, f) {
				all = false
			}
		}
		if all && rec.State != SceneFailed {
			rec.State, rec.Error = SceneDone, ""
		}
		return true
	})
	return err
}

// markFailed records that a scene failed at a stage (record first, see
// view).
func (s *store) markFailed(ctx context.Context, stage, scene, msg string) error {
	_, err := s.updateScene(ctx, scene, func(rec *SceneRecord, _ bool) bool {
		if rec.State == SceneFailed {
			return false
		}
		rec.State, rec.Error = SceneFailed, stage+": "+msg
		return true
	})
	if err != nil {
		return err
	}
	return s.put(ctx, s.stageKey(stage, scene), SceneFailed)
}

// view is a copy of the run's stage, final and run keys (short values; not
// the scene records, not leases) kept current by a key-value watcher, so
// that waiting for state needs no polling. Waiters wake on every change; a
// slow periodic check with direct reads backs the watcher up. A stage key
// is written after the scene record it goes with, so a waiter woken by it
// finds the record updated.
type view struct {
	mu      sync.Mutex
	vals    map[string]viewEntry
	synced  bool          // the watcher delivered the initial values
	changed chan struct{} // closed and replaced on every change
}

type viewEntry struct {
	val string
	rev uint64
}

// watch starts the view of s, updated until ctx ends.
func (s *store) watch(ctx context.Context) error {
	s.view = &view{vals: map[string]viewEntry{}, changed: make(chan struct{})}
	var w jetstream.KeyWatcher
	err := transport.Retry(ctx, func(ctx context.Context) error {
		var err error
		// The watcher lives until the run's context ends, not the attempt's.
		w, err = s.kv.WatchFiltered(context.WithoutCancel(ctx), []string{
			s.names.Key("stage", ">"), s.names.Key("final", ">"), s.runKey()})
		return err
	})
	if err != nil {
		return fmt.Errorf("engine: watch %s: %w", s.names.Bucket(), err)
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					s.view.mu.Lock()
					s.view.synced = true
					s.view.notifyLocked()
					s.view.mu.Unlock()
					continue
				}
				val := string(e.Value())
				if e.Operation() != jetstream.KeyValuePut {
					val = ""
				}
				s.view.set(e.Key(), val, e.Revision())
			}
		}
	}()
	return nil
}

func (v *view) notifyLocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// set records a key's value at a revision unless a later one is known.
func (v *view) set(key, val string, rev uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.vals[key]; ok && old.rev >= rev {
		return
	}
	v.vals[key] = viewEntry{val, rev}
	v.notifyLocked()
}

// changes is closed on the next change the watcher sees (nil, which
// blocks, without a view).
func (s *store) changes() <-chan struct{} {
	if s.view == nil {
		return nil
	}
	s.view.mu.Lock()
	defer s.view.mu.Unlock()
	return s.view.changed
}

// value reads a key: from the view when fresh is false and the view has
// synced, otherwise directly (updating the view).
func (s *store) value(ctx context.Context, key string, fresh bool) (string, error) {
	if v := s.view; v != nil && !fresh {
		v.mu.Lock()
		e, synced := v.vals[key], v.synced
		v.mu.Unlock()
		if synced {
			return e.val, nil
		}
	}
	return s.get(ctx, key)
}

// waitState returns once cond holds. cond reads state with s.value(…,
// fresh); it is evaluated on every change the watcher sees and, with
// fresh reads, every poll interval.
func (s *store) waitState(ctx context.Context, poll time.Duration, cond func(fresh bool) (bool, error)) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	fresh := s.view == nil
	for {
		changed := s.changes()
		ok, err := cond(fresh)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
			fresh = s.view == nil
		case <-t.C:
			fresh = true
		}
	}
}

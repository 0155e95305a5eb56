// Package engine runs a compiled pipeline: one runner per stage, linked by
// NATS subjects through credit-based edges (package transport).
//
// Each stage subscribes to its input subject; data messages are decoded and
// handed to `replicas` worker goroutines that call the operator's Process.
// Bookkeeping of what arrived happens in the subscription callback, in
// message order, so a stage knows exactly when a scene is complete: every
// upstream has said how many chunks it sent for the scene (scene-end) or
// has ended its stream (eos), and that many chunks were processed. The
// runner then calls EndScene, sends its own scene-end downstream, and once
// all upstreams ended and no scene is open, calls Finish and sends eos.
//
// Sources end a scene once they emitted Meta.Total chunks of it, and end
// their stream when Run returns. When a run is stopped (Ctrl-C), sources
// stop, scenes they left incomplete are ended as aborted (sinks discard
// them), and the rest drains.
//
// # Durable runs (JetStream)
//
// With Options.Durable (`rasterflow run --durable`, or `--nats URL` against
// an external server or cluster) every stage with an input has a JetStream
// work-queue stream (transport.Names), scene state lives in the key-value
// bucket rf_<pipeline>, and any number of processes (`rasterflow worker
// FILE --stages a,b`) serve the same stages. Stages take one of three roles:
//
//   - stateless (indices, mask, rf.predict…): one durable pull consumer per
//     stage shared by all processes; MaxAckPending bounds chunks in flight
//     across processes. A chunk is acknowledged only after its outputs were
//     published and acknowledged by JetStream (at least once); a heartbeat
//     (InProgress) runs while Process does.
//   - scene-owned (SceneEnder or sink: cog.write, preview): every chunk of a
//     scene goes to one worker. Sources send a ticket per scene; a worker
//     claims it, takes a lease in the bucket (renewed by heartbeats),
//     creates a consumer filtered on the scene's subject and processes the
//     scene from its first chunk. Nothing of the scene is acknowledged
//     until EndScene succeeded and its output was published; then the
//     scene's messages are purged. If the worker dies, the ticket and lease
//     expire after AckWait and another worker restarts the scene from
//     scratch (cog.write writes a temporary file and renames it, so a
//     half-written scene never shows and a rerun gives the same bytes).
//   - run-owned (Finisher: stats, sample, rf.train): one worker owns the
//     whole run's input the same way, holds it unacknowledged until Finish,
//     and is restarted from scratch if it dies. Sources and run-owned stages
//     send an end of stream listing their scenes.
//
// Completion across processes uses weights instead of counts: a source
// chunk weighs 1/Total of its scene, a processed chunk's outputs share its
// weight (a chunk with no output sends an "empty" marker carrying it), and
// an owned stage's output of a scene weighs 1 in total. A scene is
// complete at a stage when, from each input, exactly 1 arrived (exact
// fractions; messages carry ids, so duplicates are dropped, and JetStream
// drops republished message ids within its duplicate window).
//
// A chunk failing MaxDeliver times (or a scene failing that often at an
// owned stage) goes to rf.<pipeline>.dlq with headers Rf-Stage, Rf-Scene,
// Rf-Error, Rf-Deliveries; its weight travels on as an "abort" marker so
// downstream owners abort that scene (AbortScene) and the scene is
// recorded as failed, while the others flow. Scene records go pending →
// running → done (all final stages completed it) or failed; a restarted
// run skips done scenes at the source and resumes the rest (failed ones
// are retried). With a run-owned final stage, scenes are done only when it
// finished, since its state does not survive a stop. On SIGTERM sources
// stop, scenes already sent completely are finished (up to DrainTimeout),
// and owned scenes still open are aborted locally and handed back.
//
// Nothing polls on the fast path: a key-value watcher keeps each process's
// view of the stage, final and run keys current and wakes whoever waits on
// them (a source for room among its MaxOpenScenes, the end of the run, a
// unit finished elsewhere); direct reads every Poll only back it up. A
// unit streams its messages from a consumer held in server memory (it is
// rebuilt when the unit restarts), pull requests stay open so chunks are
// taken as they arrive, and independent updates (scene record, consumer,
// clean-up) go out together.
//
// # Scenes that cannot be read
//
// Sources that read scene by scene report a scene they cannot read through
// op.Env.SceneFailed and go on: in process, what was sent of the scene is
// ended as aborted (sinks discard it) and Run returns ErrScenesFailed at
// the end; in durable runs the scene goes to the dead-letter subject with
// its error, its record becomes failed and the weight not sent travels on
// as an abort marker, so owners abort the scene while the others complete.
package engine

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
package engine

// Package op defines what an operator is: its spec (name, settings with
// types, defaults and docs, the columns it needs and adds) and the runtime
// interfaces the engine drives.
//
// One registration per operator: a Spec carries everything — the settings
// drive YAML parsing, defaults, validation with positions and the
// `rasterflow operators` listing; Flow checks data flow before anything
// runs; New builds the running operator.
//
// Runtime rules:
//   - An operator instance serves one stage in one process. The engine calls
//     Process from up to `replicas` goroutines at once, so Process must be
//     safe for concurrent use.
//   - Process receives a chunk it does not own: it must not Release it, and
//     must Retain what it keeps past the call. Chunks passed to Emit are
//     handed over (Emit releases them).
//   - Emit blocks while downstream is full (back-pressure) and returns the
//     context's error when the run stops.
//   - SceneEnder.EndScene is called once per scene after every chunk of that
//     scene was processed; Finisher.Finish once after all input ended.
//   - Close releases resources; it is called once, after the last call.
package op

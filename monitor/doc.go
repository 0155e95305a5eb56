// Package monitor shows what a running pipeline does, live: per-stage
// rates derived from the counters of package metrics, served as Prometheus
// metrics, as JSON and as a browser dashboard, published over NATS so one
// view covers every worker of a cluster, and printed by `rasterflow top`.
//
// The pieces:
//
//   - A Source yields snapshots of stage counters (*metrics.Registry, a
//     Collector of published snapshots, or several merged with Merge).
//   - A Sampler snapshots a Source every interval and derives each stage's
//     rates over the interval (chunks, pixels and bytes per second in and
//     out) and the fractions of its replicas' time busy, blocked on
//     downstream credits (back-pressure) and idle: the busy and blocked
//     deltas divided by interval × replicas. It aggregates a stage over
//     its workers (sums; fractions weighted by replicas; the largest
//     latency quantiles) and keeps a history of the last few minutes.
//     A stage is "back-pressured" when blocked ≥ BlockedAbove, else "busy"
//     (a bottleneck) when busy ≥ BusyAbove, "idle" when both add up to
//     less than IdleBelow, else "ok".
//   - Serve runs a Sampler and an HTTP server: / (the dashboard, embedded,
//     no external resources), /metrics (Prometheus text format 0.0.4, read
//     from the Source at each scrape), /api/stages, /api/history and
//     /api/graph (JSON). A bare port binds 127.0.0.1.
//   - Publish sends a Source's snapshots as JSON Messages on a NATS subject
//     (Subject(pipeline) = "rf.metrics.<pipeline>"); Collect subscribes and
//     is itself a Source, keyed by (pipeline, stage, worker).
//   - Top draws the collected rates as a table refreshed in place.
//
// Counters only grow; a counter that goes down (a restarted worker) counts
// from zero again. Remote snapshots are trusted for nothing but their
// numbers: messages are size-checked and bad ones counted and dropped.
//
// Extension point: Options.Gauges adds samples (say, per-GPU pool bytes in
// use) to /metrics and to the dashboard.
package monitor

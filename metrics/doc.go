// Package metrics counts what every stage does: chunks, pixels and bytes in
// and out, time busy and time waiting on downstream (back-pressure), errors,
// and processing latency. Counters are atomic; a Snapshot is a consistent
// enough copy for progress lines, summaries and exporters.
package metrics

// Package operators holds rasterflow's operators, each registered once with
// its spec (see package op). Registry returns them all.
//
// Sources: synth. Transforms: indices. Sinks: stats.
package operators

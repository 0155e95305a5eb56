// Package pipelines holds rasterflow's shipped pipeline files (*.yaml) and
// the tests that run them end to end on synthetic and real data.
package pipelines

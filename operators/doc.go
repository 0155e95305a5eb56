// Package operators holds rasterflow's operators, each registered once with
// its spec (see package op). Registry returns them all.
//
//   - Sources: synth (synthetic scenes), cog.read (scene folders or URL
//     prefixes of single-band COGs, aligned onto one grid), stac.search and
//     stac.poll (STAC API items), watch (scene folders appearing in a
//     directory), nats (scene notifications on a NATS subject).
//   - Transforms: mask (nodata and Sentinel-2 SCL), indices (spectral
//     indices and band math, CPU or GPU), sample (reservoir sampling of
//     labelled pixels), rf.train (random forest training), rf.predict
//     (classification, CPU or GPU).
//   - Sinks: cog.write (one COG per scene), preview (PNG class maps), stats
//     (per-column statistics).
//
// Operators that write files write a temporary file next to the target and
// rename it, and reduce scene ids to safe file names, so no scene can write
// outside its output folder and no reader sees a half-written file.
package operators

// Package scene reads a scene — a set of single-band rasters (band files,
// label files; local paths, HTTP(S) URLs or s3:// objects) — as aligned
// windows on one reference grid.
//
// Rasters on the reference grid are read window by window as they are.
// Others (Sentinel-2's 20 m bands next to the 10 m grid, a WorldCover label
// tile in EPSG:4326 next to a UTM scene) are resampled or reprojected onto
// it with package geo, reading only the source window each output window
// needs. Memory per window is bounded by the window and its source
// footprints, never by the scene size.
package scene

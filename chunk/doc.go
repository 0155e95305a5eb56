// Package chunk defines the unit of data that flows between rasterflow
// stages: one raster window of one scene as an Arrow record batch.
//
// Pixels are rows (row-major within the window) and bands are columns. The
// schema metadata carries the scene id, the window, the scene's grid size,
// CRS and geotransform; each field's metadata may carry its nodata value.
//
// Rules:
//   - A Chunk owns one reference to its record; Release gives it up. Code
//     that keeps a chunk beyond the call that handed it over must Retain it.
//   - Column buffers are little-endian (Arrow's layout), so pixel buffers
//     from the TIFF codec become columns without copying (FromBytes).
//   - Chunks are immutable once built: With returns a new chunk sharing the
//     existing columns.
package chunk

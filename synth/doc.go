// Package synth generates seeded, Sentinel-2-like synthetic scenes of any
// size, one window at a time: any window can be computed on its own and
// always gives the same pixels, so scenes larger than memory stream.
//
// Bands B02 B03 B04 B08 B11 B12 are uint16 DN (reflectance × 10000 + 1000,
// nodata 0, as Sentinel-2 L2A from processing baseline 04.00); `label` is
// an ESA WorldCover class code (uint8, nodata 0). Land cover comes in
// spatially coherent patches from low-frequency noise fields; each class
// has a spectral signature with overlapping spread (per-patch brightness,
// per-pixel noise and mixed pixels at patch edges), so the classes are
// separable but not trivially. A triangle at the top-left corner is nodata,
// as at the edge of a real tile's swath.
package synth

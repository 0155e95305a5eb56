// Package tiff reads GeoTIFF and Cloud Optimized GeoTIFF (COG) files in pure
// Go, and (in the write*.go files) writes them.
//
// # Reading
//
// Open parses the header and every IFD of a blob.Source (a local file, an
// HTTP or S3 object); OpenFile opens a local path. Only header and tag bytes
// are read at open time (through a 64 KiB prefix read, which holds the whole
// header of a COG); pixels are read on demand:
//
//	f, err := tiff.OpenFile("B04.tif")
//	im := f.Images[0]                  // full-resolution image
//	px, err := im.ReadWindow(ctx, x, y, w, h, nil) // every band
//	red := tiff.AsUint16(px[0])        // im.DType == tiff.Uint16
//
// File.Images lists the full-resolution images (usually one). Each Image
// carries its reduced-resolution images (Overviews, in file order, as GDAL
// lists them) and its transparency Mask (a NewSubfileType mask IFD, decoded
// as one Uint8 band of 0 and 255); overviews may have masks too. Overviews
// and masks inherit georeferencing (scaled), nodata, metadata and palette.
//
// ReadWindow and ReadWindowInto decode the window [x,x+w)×[y,y+h) of the
// listed 0-based bands into one little-endian row-major buffer per band
// (w*h*DType.Size() bytes), ready for Arrow without copying. Only the tiles
// or strips the window touches are read and decoded, in parallel (at most
// GOMAXPROCS at once), each from its own byte range. When the source
// implements blob.MultiReader, all the block ranges of one window are
// fetched with a single ReadRanges call. Pixels outside the image, and
// sparse blocks (offset and byte count 0), read as the nodata value (0 when
// there is none or it does not fit the data type), as GDAL does.
//
// Supported: classic TIFF and BigTIFF in both byte orders; tiles and strips;
// chunky and planar configuration; 8, 16, 32 and 64-bit samples
// (uint8/int8/uint16/int16/uint32/int32/float32/float64) and 1-bit
// single-band images (decoded to one byte per pixel); compression none,
// LZW, Deflate (8 and 32946), ZSTD and PackBits; predictors 1, 2 and 3.
// GeoTIFF keys are decoded into Georef, with GDAL's conventions
// (ModelTransformation before tiepoint+scale, PixelIsPoint shifted by half
// a pixel). GDAL's private tags GDAL_NODATA and GDAL_METADATA (band
// descriptions, scale, offset, unit type, dataset items) are decoded.
//
// # Errors
//
// A valid file that uses something this package does not decode (JPEG, old
// JPEG, WebP, LERC, LZMA, JPEG XL, 12-bit or 24-bit samples, YCbCr, old-style
// LZW) yields an *UnsupportedError naming the feature (errors.Is
// ErrUnsupported). A malformed file (bad magic, offsets outside the file,
// inconsistent counts, corrupt compressed data) yields a *FormatError
// (errors.Is ErrFormat). Bad input never panics, and sizes read from the
// file are checked against the file size and fixed limits (4096 IFDs, 4096
// entries per IFD, 1 GiB per decoded block) before anything is allocated.
//
// # Info
//
// File.Info summarises the first image as JSON-ready Info, including whether
// the layout is a valid COG under the rules of GDAL's
// validate_cloud_optimized_geotiff.py (File.COGErrors lists violations).
//
// Files and images are safe for concurrent use. Close the File to release
// the source.
package tiff

// Package geo describes coordinate reference systems (CRS), converts
// coordinates between them, and resamples / reprojects rasters between grids.
//
// # Coordinate reference systems
//
// A [CRS] is either geographic (longitude/latitude in degrees on an
// ellipsoid) or projected with one of the supported methods: Transverse
// Mercator (UTM included), Mercator (Web Mercator included) and Lambert
// Conformal Conic (1SP and 2SP). CRSs are built with [Parse] ("EPSG:n" for
// the codes this package knows, or a PROJ string), with [FromGeoKeys] from a
// GeoTIFF key directory, or by filling the struct directly.
//
// Axis order is always x = easting/longitude, y = northing/latitude (GDAL's
// "traditional GIS order"), whatever the EPSG axis order is.
//
// Datums are not shifted: like PROJ's "ballpark" transformation, latitude and
// longitude are carried unchanged between datums, so WGS 84, NAD83, ETRS89
// and SIRGAS 2000 are treated as equivalent. This matches PROJ for the
// null-transformations between these datums (for example "NAD83 to WGS 84
// (1)" and "SIRGAS 2000 to WGS 84 (1)") and is accurate to about 1 m
// otherwise.
//
// Transverse Mercator uses the Poder/Engsager extended series (6th order in
// the third flattening n), as PROJ's default tmerc/utm does, and agrees with
// PROJ to well under 1 mm inside a UTM zone. Lambert Conformal Conic follows
// EPSG Guidance Note 7-2 (ellipsoidal), Mercator is ellipsoidal or
// spherical depending on the ellipsoid (EPSG:3857 is spherical on a =
// 6378137 m).
//
// # Transforming coordinates
//
// [Transformer] converts batches of coordinates in place. Points that
// cannot be transformed (outside a projection's domain) are set to NaN and
// the call returns an error wrapping [ErrDomain]; the other points are still
// transformed.
//
// # Grids and resampling
//
// A [Grid] is a raster's CRS, size and affine geotransform (GDAL order:
// x = T0 + col*T1 + row*T2, y = T3 + col*T4 + row*T5, pixel corners).
// [SourceWindow] computes the source pixel window needed to fill a
// destination [Window], so rasters can be reprojected chunk by chunk while
// reading only what each chunk needs. [Resample] (or a reusable [Warper])
// then fills the destination window from the source window's pixels.
//
// Resampling follows gdalwarp's semantics: the centre of each destination
// pixel is transformed into source pixel coordinates (through an
// approximating transformer that is exact at both ends and the middle of
// every row and interpolates linearly in between when the error is below
// 0.125 source pixels, as gdalwarp's default -et 0.125 does); Nearest takes
// the source pixel containing that point; Bilinear interpolates the four
// nearest source pixel centres, ignoring nodata/out-of-window neighbours
// and renormalising the weights; Average and Mode use the footprint of the
// destination pixel in the source (its transformed top-left and
// bottom-right corners), Average weighting partially covered source pixels
// by their coverage, Mode counting whole pixels (ties go to the value met
// first in row-major order, as gdalwarp 3.6 does). Destination pixels with no valid source are set
// to the destination nodata value.
//
// Pixel buffers are row-major slices of one of uint8, int8, uint16, int16,
// uint32, int32, float32 or float64; source and destination use the same
// element type. Integer results of Bilinear/Average are rounded half up and
// clamped to the type's range. NaN source values are always treated as
// nodata.
package geo

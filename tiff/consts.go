package tiff

// Constants from the TIFF 6.0 specification (Adobe, 1992), the BigTIFF
// proposal (Aware Systems, 2007), Adobe's TIFF Technical Notes, the
// GeoTIFF 1.1 specification (OGC 19-008r4) and GDAL's private tags.

// Byte orders (TIFF 6.0 section 2, "Image File Header").
const (
	leHeader = "II"
	beHeader = "MM"

	versionClassic = 42 // TIFF 6.0
	versionBig     = 43 // BigTIFF
)

// Field types (TIFF 6.0 section 2 and BigTIFF).
const (
	dtByte      = 1
	dtASCII     = 2
	dtShort     = 3
	dtLong      = 4
	dtRational  = 5
	dtSByte     = 6
	dtUndefined = 7
	dtSShort    = 8
	dtSLong     = 9
	dtSRational = 10
	dtFloat     = 11
	dtDouble    = 12
	dtIFD       = 13
	dtLong8     = 16 // BigTIFF
	dtSLong8    = 17 // BigTIFF
	dtIFD8      = 18 // BigTIFF
)

// typeSize is the size in bytes of one value of each field type.
var typeSize = map[uint16]int{
	dtByte: 1, dtASCII: 1, dtShort: 2, dtLong: 4, dtRational: 8,
	dtSByte: 1, dtUndefined: 1, dtSShort: 2, dtSLong: 4, dtSRational: 8,
	dtFloat: 4, dtDouble: 8, dtIFD: 4, dtLong8: 8, dtSLong8: 8, dtIFD8: 8,
}

// Tags (TIFF 6.0 appendix A, TIFF Technical Note 1 for tiles, GeoTIFF 1.1
// section 7 and GDAL's private tags).
const (
	tNewSubfileType            = 254
	tImageWidth                = 256
	tImageLength               = 257
	tBitsPerSample             = 258
	tCompression               = 259
	tPhotometricInterpretation = 262
	tImageDescription          = 270
	tStripOffsets              = 273
	tSamplesPerPixel           = 277
	tRowsPerStrip              = 278
	tStripByteCounts           = 279
	tPlanarConfiguration       = 284
	tSoftware                  = 305
	tPredictor                 = 317
	tColorMap                  = 320
	tTileWidth                 = 322
	tTileLength                = 323
	tTileOffsets               = 324
	tTileByteCounts            = 325
	tExtraSamples              = 338
	tSampleFormat              = 339
	tJPEGTables                = 347

	tModelPixelScale     = 33550 // GeoTIFF
	tModelTiepoint       = 33922 // GeoTIFF
	tModelTransformation = 34264 // GeoTIFF
	tGeoKeyDirectory     = 34735 // GeoTIFF
	tGeoDoubleParams     = 34736 // GeoTIFF
	tGeoASCIIParams      = 34737 // GeoTIFF

	tGDALMetadata = 42112 // GDAL private: XML band metadata
	tGDALNodata   = 42113 // GDAL private: nodata as ASCII
)

// NewSubfileType bits (TIFF 6.0 section 8).
const (
	subfileReducedImage = 1 // an overview
	subfilePage         = 2
	subfileMask         = 4 // a transparency mask
)

// Compression schemes (TIFF 6.0 section 3 and registered extensions).
const (
	CompressionNone       = 1
	CompressionLZW        = 5
	CompressionOldJPEG    = 6
	CompressionJPEG       = 7
	CompressionDeflate    = 8 // Adobe Deflate
	CompressionPackBits   = 32773
	CompressionDeflateOld = 32946 // PKZIP-style Deflate
	CompressionLERC       = 34887
	CompressionLZMA       = 34925
	CompressionZSTD       = 50000
	CompressionWebP       = 50001
	CompressionJXL        = 50002
)

// Predictors (TIFF 6.0 section 14; Adobe TIFF Technical Note 3 for 3).
const (
	PredictorNone          = 1
	PredictorHorizontal    = 2
	PredictorFloatingPoint = 3
)

// Photometric interpretations (TIFF 6.0 section 3, 5, 6, 21).
const (
	photoWhiteIsZero = 0
	photoBlackIsZero = 1
	photoRGB         = 2
	photoPalette     = 3
	photoMask        = 4
	photoYCbCr       = 6
)

// Planar configurations (TIFF 6.0 section 8).
const (
	planarChunky = 1 // pixel interleaved
	planarPlanar = 2 // band interleaved
)

// Sample formats (TIFF 6.0 section 19).
const (
	sampleUint  = 1
	sampleInt   = 2
	sampleFloat = 3
	sampleVoid  = 4
)

// GeoKey IDs (GeoTIFF 1.1, OGC 19-008r4, section 7 and annex B).
const (
	GTModelTypeGeoKey  = 1024
	GTRasterTypeGeoKey = 1025
	GTCitationGeoKey   = 1026

	GeographicTypeGeoKey        = 2048
	GeogCitationGeoKey          = 2049
	GeogGeodeticDatumGeoKey     = 2050
	GeogPrimeMeridianGeoKey     = 2051
	GeogLinearUnitsGeoKey       = 2052
	GeogAngularUnitsGeoKey      = 2054
	GeogEllipsoidGeoKey         = 2056
	GeogSemiMajorAxisGeoKey     = 2057
	GeogSemiMinorAxisGeoKey     = 2058
	GeogInvFlatteningGeoKey     = 2059
	GeogPrimeMeridianLongGeoKey = 2061

	ProjectedCSTypeGeoKey          = 3072
	PCSCitationGeoKey              = 3073
	ProjectionGeoKey               = 3074
	ProjCoordTransGeoKey           = 3075
	ProjLinearUnitsGeoKey          = 3076
	ProjStdParallel1GeoKey         = 3078
	ProjStdParallel2GeoKey         = 3079
	ProjNatOriginLongGeoKey        = 3080
	ProjNatOriginLatGeoKey         = 3081
	ProjFalseEastingGeoKey         = 3082
	ProjFalseNorthingGeoKey        = 3083
	ProjFalseOriginLongGeoKey      = 3084
	ProjFalseOriginLatGeoKey       = 3085
	ProjFalseOriginEastingGeoKey   = 3086
	ProjFalseOriginNorthingGeoKey  = 3087
	ProjCenterLongGeoKey           = 3088
	ProjCenterLatGeoKey            = 3089
	ProjScaleAtNatOriginGeoKey     = 3092
	ProjScaleAtCenterGeoKey        = 3093
	ProjAzimuthAngleGeoKey         = 3094
	ProjStraightVertPoleLongGeoKey = 3095

	VerticalCSTypeGeoKey = 4096
)

// GeoTIFF model and raster types.
const (
	ModelTypeProjected  = 1
	ModelTypeGeographic = 2
	ModelTypeGeocentric = 3

	RasterPixelIsArea  = 1
	RasterPixelIsPoint = 2

	// UserDefined marks a key whose value is given by other keys.
	UserDefined = 32767
)

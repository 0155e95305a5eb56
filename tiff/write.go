package tiff

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// WriteOptions describes a Cloud Optimized GeoTIFF to write.
type WriteOptions struct {
	Width, Height, Bands int
	DType                DType

	// BlockSize is the tile width and height, a multiple of 16; 0 means 512.
	BlockSize int
	// Compression is CompressionDeflate (the default when 0),
	// CompressionZSTD, CompressionLZW or CompressionNone.
	Compression int
	// Predictor is PredictorNone, PredictorHorizontal (integers or floats)
	// or PredictorFloatingPoint (floats only). 0 picks horizontal for
	// integers and floating point for floats, none when uncompressed.
	Predictor int
	// Level is the Deflate (1..9, default 6) or ZSTD (1..22, default 9)
	// level; 0 means the default.
	Level int
	// Overviews is the number of overview levels: -1 halves until a level
	// fits in one tile (as GDAL's COG driver), 0 writes none.
	Overviews int
	// Resampling for overviews: "nearest" (the default, for classes) or
	// "average" (continuous data; nodata pixels are left out of averages).
	Resampling string

	Geo    Georef
	Nodata *float64
	// ColorMap is a palette for single-band uint8 or uint16 rasters: entry
	// i is the 16-bit red, green and blue of value i. Missing entries are
	// written as black.
	ColorMap [][3]uint16
	// BandDescriptions are written to GDAL_METADATA (GDAL's band
	// descriptions); may be shorter than Bands.
	BandDescriptions []string

	// BigTIFF is "auto" (the default when empty: BigTIFF only when the file
	// would not fit classic TIFF's 4 GiB), "yes" or "no".
	BigTIFF string
	// TempDir holds the tile spool file; empty means the output's folder.
	TempDir string
}

const (
	maxDimension = 1 << 30
	maxBands     = 1 << 15
)

// normalize fills defaults and checks the options.
func (o WriteOptions) normalize() (WriteOptions, error) {
	if o.Width <= 0 || o.Height <= 0 || o.Width > maxDimension || o.Height > maxDimension {
		return o, fmt.Errorf("tiff: invalid raster size %dx%d", o.Width, o.Height)
	}
	if o.Bands <= 0 || o.Bands > maxBands {
		return o, fmt.Errorf("tiff: invalid band count %d", o.Bands)
	}
	if o.DType.Size() == 0 {
		return o, fmt.Errorf("tiff: invalid data type %v", o.DType)
	}
	if o.BlockSize == 0 {
		o.BlockSize = 512
	}
	if o.BlockSize < 16 || o.BlockSize > 1<<14 || o.BlockSize%16 != 0 {
		return o, fmt.Errorf("tiff: block size %d is not a multiple of 16 in 16..16384", o.BlockSize)
	}
	if o.Compression == 0 {
		o.Compression = CompressionDeflate
	}
	switch o.Compression {
	case CompressionNone, CompressionDeflate, CompressionZSTD, CompressionLZW:
	default:
		return o, fmt.Errorf("tiff: cannot write compression %d", o.Compression)
	}
	isFloat := o.DType == Float32 || o.DType == Float64
	if o.Predictor == 0 {
		switch {
		case o.Compression == CompressionNone:
			o.Predictor = PredictorNone
		case isFloat:
			o.Predictor = PredictorFloatingPoint
		default:
			o.Predictor = PredictorHorizontal
		}
	}
	switch o.Predictor {
	case PredictorNone, PredictorHorizontal:
	case PredictorFloatingPoint:
		if !isFloat {
			return o, fmt.Errorf("tiff: floating point predictor needs a float data type, not %v", o.DType)
		}
	default:
		return o, fmt.Errorf("tiff: invalid predictor %d", o.Predictor)
	}
	switch strings.ToLower(o.Resampling) {
	case "", "nearest":
		o.Resampling = "nearest"
	case "average":
		o.Resampling = "average"
	default:
		return o, fmt.Errorf("tiff: unknown resampling %q (want nearest or average)", o.Resampling)
	}
	if o.Overviews < -1 {
		return o, fmt.Errorf("tiff: invalid overview count %d", o.Overviews)
	}
	switch strings.ToLower(o.BigTIFF) {
	case "", "auto":
		o.BigTIFF = "auto"
	case "yes", "no":
		o.BigTIFF = strings.ToLower(o.BigTIFF)
	default:
		return o, fmt.Errorf("tiff: BigTIFF must be auto, yes or no, not %q", o.BigTIFF)
	}
	if len(o.ColorMap) > 0 {
		if o.Bands != 1 || (o.DType != Uint8 && o.DType != Uint16) {
			return o, fmt.Errorf("tiff: a color map needs one uint8 or uint16 band")
		}
		if len(o.ColorMap) > 1<<(8*o.DType.Size()) {
			return o, fmt.Errorf("tiff: color map has %d entries, more than %v allows", len(o.ColorMap), o.DType)
		}
	}
	if len(o.BandDescriptions) > o.Bands {
		return o, fmt.Errorf("tiff: %d band descriptions for %d bands", len(o.BandDescriptions), o.Bands)
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return o, fmt.Errorf("tiff: the writer needs a little-endian host")
	}
	return o, nil
}

// overviewSizes returns the sizes of levels 0 (full resolution) to n, as
// GDAL's COG driver: level k is floor(size / 2^k), at least 1.
func overviewSizes(o WriteOptions) [][2]int {
	sizes := [][2]int{{o.Width, o.Height}}
	for k := 1; ; k++ {
		w, h := max(o.Width>>k, 1), max(o.Height>>k, 1)
		prev := sizes[len(sizes)-1]
		if o.Overviews >= 0 && k > o.Overviews {
			break
		}
		if o.Overviews < 0 && prev[0] <= o.BlockSize && prev[1] <= o.BlockSize {
			break
		}
		if prev[0] == 1 && prev[1] == 1 {
			break
		}
		sizes = append(sizes, [2]int{w, h})
	}
	return sizes
}

// field is one IFD entry with its little-endian encoded values.
type field struct {
	tag, typ uint16
	count    uint64
	data     []byte
}

func shortsField(tag uint16, v ...uint16) field {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return field{tag, dtShort, uint64(len(v)), b}
}

func longsField(tag uint16, v ...uint32) field {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return field{tag, dtLong, uint64(len(v)), b}
}

func long8sField(tag uint16, v ...uint64) field {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	return field{tag, dtLong8, uint64(len(v)), b}
}

// offsetsField writes v as LONG in classic TIFF and LONG8 in BigTIFF.
func offsetsField(tag uint16, big bool, v []uint64) field {
	if big {
		return long8sField(tag, v...)
	}
	u := make([]uint32, len(v))
	for i, x := range v {
		u[i] = uint32(x)
	}
	return longsField(tag, u...)
}

func doublesField(tag uint16, v ...float64) field {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return field{tag, dtDouble, uint64(len(v)), b}
}

func asciiField(tag uint16, s string) field {
	b := append([]byte(s), 0)
	return field{tag, dtASCII, uint64(len(b)), b}
}

// dimField is SHORT when the value fits, else LONG, as libtiff writes.
func dimField(tag uint16, v int) field {
	if v < 1<<16 {
		return shortsField(tag, uint16(v))
	}
	return longsField(tag, uint32(v))
}

// ifdSize is the size of an IFD with its out-of-line values, each value
// block padded to an even length.
func ifdSize(fields []field, big bool) int64 {
	entry, head, inline := int64(12), int64(2+4), 4
	if big {
		entry, head, inline = 20, 8+8, 8
	}
	n := head + entry*int64(len(fields))
	for _, f := range fields {
		if len(f.data) > inline {
			n += int64(len(f.data)+1) &^ 1
		}
	}
	return n
}

// appendIFD serializes an IFD placed at offset off, followed by its
// out-of-line values; next is the offset of the following IFD or 0.
func appendIFD(dst []byte, fields []field, big bool, off, next uint64) []byte {
	sort.Slice(fields, func(i, j int) bool { return fields[i].tag < fields[j].tag })
	le := binary.LittleEndian
	entry, head, inline := 12, 2, 4
	if big {
		entry, head, inline = 20, 8, 8
	}
	extra := off + uint64(head+entry*len(fields)+inline)
	if big {
		dst = le.AppendUint64(dst, uint64(len(fields)))
	} else {
		dst = le.AppendUint16(dst, uint16(len(fields)))
	}
	var tail []byte
	for _, f := range fields {
		dst = le.AppendUint16(dst, f.tag)
		dst = le.AppendUint16(dst, f.typ)
		if big {
			dst = le.AppendUint64(dst, f.count)
		} else {
			dst = le.AppendUint32(dst, uint32(f.count))
		}
		if len(f.data) <= inline {
			v := make([]byte, inline)
			copy(v, f.data)
			dst = append(dst, v...)
			continue
		}
		p := extra + uint64(len(tail))
		if big {
			dst = le.AppendUint64(dst, p)
		} else {
			dst = le.AppendUint32(dst, uint32(p))
		}
		tail = append(tail, f.data...)
		if len(tail)%2 == 1 {
			tail = append(tail, 0)
		}
	}
	if big {
		dst = le.AppendUint64(dst, next)
	} else {
		dst = le.AppendUint32(dst, uint32(next))
	}
	return append(dst, tail...)
}

// ghostHeader is GDAL's COG structural metadata, written right after the
// TIFF header (GDAL COG driver documentation, "Header ghost area").
func ghostHeader() []byte {
	body := "LAYOUT=IFDS_BEFORE_DATA\n" +
		"BLOCK_ORDER=ROW_MAJOR\n" +
		"BLOCK_LEADER=SIZE_AS_UINT4\n" +
		"BLOCK_TRAILER=LAST_4_BYTES_REPEATED\n" +
		"KNOWN_INCOMPATIBLE_EDITION=NO\n "
	return []byte(fmt.Sprintf("GDAL_STRUCTURAL_METADATA_SIZE=%06d bytes\n%s", len(body), body))
}

// sampleFormat returns the TIFF SampleFormat of a data type.
func sampleFormat(d DType) uint16 {
	switch d {
	case Int8, Int16, Int32:
		return sampleInt
	case Float32, Float64:
		return sampleFloat
	}
	return sampleUint
}

// commonFields are the tags shared by the full-resolution image and its
// overviews (without the tile offsets and byte counts).
func commonFields(o WriteOptions, w, h int) []field {
	spp := o.Bands
	bits := make([]uint16, spp)
	formats := make([]uint16, spp)
	for i := range bits {
		bits[i] = uint16(8 * o.DType.Size())
		formats[i] = sampleFormat(o.DType)
	}
	photo := uint16(photoBlackIsZero)
	switch {
	case len(o.ColorMap) > 0:
		photo = photoPalette
	case spp == 3 && o.DType == Uint8:
		photo = photoRGB
	}
	fs := []field{
		dimField(tImageWidth, w),
		dimField(tImageLength, h),
		shortsField(tBitsPerSample, bits...),
		shortsField(tCompression, uint16(o.Compression)),
		shortsField(tPhotometricInterpretation, photo),
		shortsField(tSamplesPerPixel, uint16(spp)),
		shortsField(tPlanarConfiguration, planarChunky),
		dimField(tTileWidth, o.BlockSize),
		dimField(tTileLength, o.BlockSize),
		shortsField(tSampleFormat, formats...),
	}
	if o.Predictor != PredictorNone {
		fs = append(fs, shortsField(tPredictor, uint16(o.Predictor)))
	}
	if photo != photoRGB && spp > 1 {
		// Bands after the first are unspecified extra samples, as GDAL
		// writes PHOTOMETRIC=MINISBLACK multi-band files.
		fs = append(fs, shortsField(tExtraSamples, make([]uint16, spp-1)...))
	}
	if photo == photoPalette {
		fs = append(fs, colorMapField(o.ColorMap, o.DType.Size()*8))
	}
	if o.Nodata != nil {
		fs = append(fs, asciiField(tGDALNodata, formatNodata(*o.Nodata)))
	}
	return fs
}

func colorMapField(cm [][3]uint16, bits int) field {
	n := 1 << bits
	v := make([]uint16, 3*n)
	for i, c := range cm {
		v[i], v[n+i], v[2*n+i] = c[0], c[1], c[2]
	}
	return shortsField(tColorMap, v...)
}

// formatNodata formats a nodata value as GDAL does (%.18g, "nan", "inf").
func formatNodata(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// mainFields are the tags only the full-resolution IFD carries: GeoTIFF
// georeferencing and GDAL metadata.
func mainFields(o WriteOptions) []field {
	fs := geoFields(o.Geo)
	if md := gdalMetadataXMLText(o); md != "" {
		fs = append(fs, asciiField(tGDALMetadata, md))
	}
	return fs
}

func gdalMetadataXMLText(o WriteOptions) string {
	var b strings.Builder
	if o.Overviews != 0 {
		fmt.Fprintf(&b, "  <Item name=\"OVR_RESAMPLING_ALG\">%s</Item>\n", strings.ToUpper(o.Resampling))
	}
	for i, d := range o.BandDescriptions {
		if d == "" {
			continue
		}
		// GDAL escapes item values before serializing the XML, so they
		// are escaped twice in the file (and unescaped twice on reading).
		fmt.Fprintf(&b, "  <Item name=\"DESCRIPTION\" sample=\"%d\" role=\"description\">%s</Item>\n", i, xmlEscape(xmlEscape(d)))
	}
	if b.Len() == 0 {
		return ""
	}
	return "<GDALMetadata>\n" + b.String() + "</GDALMetadata>\n"
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;").Replace(s)
}

// geoFields encodes a Georef as GeoTIFF tags (OGC 19-008r4): pixel scale
// and tiepoint for north-up rasters, else a model transformation; then the
// GeoKey directory with its double and ASCII parameters.
func geoFields(g Georef) []field {
	var fs []field
	keys := g.Keys
	if g.HasTransform {
		t := g.Transform
		x0, y0 := t[0], t[3]
		if g.PixelIsPoint {
			// The file's tiepoint refers to the first pixel's centre.
			x0 += (t[1] + t[2]) / 2
			y0 += (t[4] + t[5]) / 2
		}
		if t[2] == 0 && t[4] == 0 {
			fs = append(fs,
				doublesField(tModelPixelScale, t[1], -t[5], 0),
				doublesField(tModelTiepoint, 0, 0, 0, x0, y0, 0))
		} else {
			fs = append(fs, doublesField(tModelTransformation,
				t[1], t[2], 0, x0,
				t[4], t[5], 0, y0,
				0, 0, 0, 0,
				0, 0, 0, 1))
		}
		short := map[uint16]uint16{}
		for k, v := range keys.Short {
			short[k] = v
		}
		short[GTRasterTypeGeoKey] = RasterPixelIsArea
		if g.PixelIsPoint {
			short[GTRasterTypeGeoKey] = RasterPixelIsPoint
		}
		keys.Short = short
	}
	ids := make([]int, 0, len(keys.Short)+len(keys.Double)+len(keys.ASCII))
	for k := range keys.Short {
		ids = append(ids, int(k))
	}
	for k := range keys.Double {
		if _, dup := keys.Short[k]; !dup {
			ids = append(ids, int(k))
		}
	}
	for k := range keys.ASCII {
		_, d1 := keys.Short[k]
		_, d2 := keys.Double[k]
		if !d1 && !d2 {
			ids = append(ids, int(k))
		}
	}
	if len(ids) == 0 {
		return fs
	}
	sort.Ints(ids)
	dir := []uint16{1, 1, 0, uint16(len(ids))}
	var doubles []float64
	var ascii strings.Builder
	for _, id := range ids {
		k := uint16(id)
		if v, ok := keys.Short[k]; ok {
			dir = append(dir, k, 0, 1, v)
		} else if v, ok := keys.Double[k]; ok {
			dir = append(dir, k, tGeoDoubleParams, uint16(len(v)), uint16(len(doubles)))
			doubles = append(doubles, v...)
		} else {
			s := strings.ReplaceAll(keys.ASCII[k], "|", "/") + "|"
			dir = append(dir, k, tGeoASCIIParams, uint16(len(s)), uint16(ascii.Len()))
			ascii.WriteString(s)
		}
	}
	fs = append(fs, shortsField(tGeoKeyDirectory, dir...))
	if len(doubles) > 0 {
		fs = append(fs, doublesField(tGeoDoubleParams, doubles...))
	}
	if ascii.Len() > 0 {
		fs = append(fs, asciiField(tGeoASCIIParams, ascii.String()))
	}
	return fs
}

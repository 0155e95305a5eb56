package tiff

import (
	"encoding/binary"
	"fmt"

	"github.com/rasterflow/rasterflow/blob"
)

// File is an opened TIFF. Its methods and those of its images are safe for
// concurrent use.
type File struct {
	// Images are the full-resolution images (usually one); reduced-resolution
	// images and masks hang off them.
	Images []*Image
	// BigTIFF reports the BigTIFF (version 43) header.
	BigTIFF bool
	// ByteOrder is the file's byte order.
	ByteOrder binary.ByteOrder

	src       blob.Source
	name      string
	ifds      []*Image // every image, in file order
	ghostSize int64    // size of GDAL's ghost structural metadata, or -1
	codecs    codecs
	cache     *blockCache
}

// Image is one IFD: a full-resolution image, an overview or a mask.
type Image struct {
	Width, Height int
	// Bands is SamplesPerPixel.
	Bands int
	DType DType
	// BitsPerSample is the stored sample size; 1-bit images are decoded to
	// one byte per pixel (0/1, or 0/255 for masks, as GDAL reads them).
	BitsPerSample int
	Tiled         bool
	// BlockW×BlockH is the tile size, or width × RowsPerStrip for strips.
	BlockW, BlockH int
	// Planar reports PlanarConfiguration=2 (band interleaved).
	Planar      bool
	Compression int
	Predictor   int
	Photometric int
	// Alpha is the 0-based band declared as alpha by ExtraSamples, or -1.
	Alpha int
	// Geo, Nodata, Meta and ColorMap of overviews and masks are those of
	// their full-resolution image (with the transform scaled to the size).
	Geo    Georef
	Nodata *float64
	Meta   Metadata
	// ColorMap is the palette (TIFF ColorMap: 16-bit R, G, B per entry), or nil.
	ColorMap [][3]uint16
	// Overviews are the reduced-resolution images, in file order.
	Overviews []*Image
	// Mask is the transparency mask (NewSubfileType bit 4), or nil. It is a
	// one-band Uint8 image with values 0 (masked) and 255 (valid).
	Mask *Image
	// SubfileType is NewSubfileType.
	SubfileType uint32

	file         *File
	ifdOffset    int64
	offsets      []uint64
	counts       []uint64
	across, down int // blocks per row and per column
	spb          int // samples per pixel inside one block
	isMask       bool
}

// Open parses the header and every IFD of src. Only the header and tag data
// are read; pixels are read on demand. The File takes ownership of src and
// closes it in Close.
func Open(src blob.Source) (*File, error) {
	r := &reader{src: src, name: src.Name(), size: src.Size()}
	r.budget = 16*r.size + 1<<20
	off, err := r.parseHeader()
	if err != nil {
		return nil, err
	}
	f := &File{BigTIFF: r.big, ByteOrder: r.bo, src: src, name: r.name, ghostSize: r.parseGhost()}
	seen := map[int64]bool{}
	for off != 0 {
		if seen[off] {
			return nil, r.errf("IFD loop at offset %d", off)
		}
		if len(seen) >= maxIFDs {
			return nil, r.errf("more than %d IFDs", maxIFDs)
		}
		seen[off] = true
		d, next, err := r.readIFD(off)
		if err != nil {
			return nil, err
		}
		im, err := r.newImage(d, f)
		if err != nil {
			return nil, err
		}
		f.ifds = append(f.ifds, im)
		off = next
	}
	if err := f.link(r); err != nil {
		return nil, err
	}
	f.cache = newBlockCache(f.cacheBudget())
	return f, nil
}

// cacheBudget sizes the decoded-block cache for windows read in row-major
// order: two rows of tiles of the largest image (or 1024 rows of strips),
// at most DefaultBlockCache, so small files keep little.
func (f *File) cacheBudget() int64 {
	var need int64
	for _, im := range f.Images {
		planes := int64(1)
		if im.Planar {
			planes = int64(im.Bands)
		}
		row := int64(im.Width) * int64(im.spb) * int64(im.DType.Size()) * planes // one image row
		n := 2 * int64(im.BlockH) * row
		if !im.Tiled {
			n = max(n, 1024*row)
		}
		need = max(need, n)
	}
	return min(need, DefaultBlockCache)
}

// Close releases the source and decoder state.
func (f *File) Close() error {
	f.codecs.close()
	return f.src.Close()
}

// Name is the source name.
func (f *File) Name() string { return f.name }

// link groups IFDs into full-resolution images with overviews and masks,
// as GDAL does, and lets overviews inherit georeferencing and metadata.
func (f *File) link(r *reader) error {
	var main *Image
	for _, im := range f.ifds {
		reduced := im.SubfileType&subfileReducedImage != 0
		switch {
		case im.SubfileType&subfileMask != 0 && main != nil:
			target := main
			if reduced {
				target = nil
				for _, o := range main.Overviews {
					if o.Width == im.Width && o.Height == im.Height {
						target = o
					}
				}
			}
			if target != nil && target.Mask == nil && im.Width == target.Width && im.Height == target.Height {
				im.isMask = true
				target.Mask = im
			}
		case reduced && main != nil:
			if im.Width <= main.Width && im.Height <= main.Height {
				main.Overviews = append(main.Overviews, im)
			}
		case im.SubfileType&subfileMask == 0:
			main = im
			f.Images = append(f.Images, im)
		}
	}
	if len(f.Images) == 0 {
		return r.errf("no full-resolution image")
	}
	for _, m := range f.Images {
		for _, o := range m.Overviews {
			o.inherit(m)
		}
	}
	for _, m := range f.Images {
		for _, im := range append([]*Image{m}, m.Overviews...) {
			if im.Mask != nil {
				if im.Mask.Bands != 1 || im.Mask.DType != Uint8 {
					return unsupportedErr(f.name, "mask with %d bands of %s", im.Mask.Bands, im.Mask.DType)
				}
				im.Mask.Geo = im.Geo
			}
		}
	}
	return nil
}

func (im *Image) inherit(m *Image) {
	im.Geo = m.Geo.scaled(m.Width, m.Height, im.Width, im.Height)
	im.Nodata = m.Nodata
	im.Meta = m.Meta
	if im.ColorMap == nil {
		im.ColorMap = m.ColorMap
	}
}

// newImage validates one IFD and builds its Image.
func (r *reader) newImage(d *ifd, f *File) (*Image, error) {
	im := &Image{file: f, ifdOffset: d.offset, Alpha: -1}
	u := func(tag uint16, def uint64) (int, error) {
		v, err := r.uint1(d, tag, def)
		if err != nil {
			return 0, err
		}
		if v > 1<<31-1 {
			return 0, r.errf("IFD at %d: tag %d value %d too large", d.offset, tag, v)
		}
		return int(v), nil
	}
	var err error
	st, err := r.uint1(d, tNewSubfileType, 0)
	if err != nil {
		return nil, err
	}
	im.SubfileType = uint32(st)
	if im.Width, err = u(tImageWidth, 0); err != nil {
		return nil, err
	}
	if im.Height, err = u(tImageLength, 0); err != nil {
		return nil, err
	}
	if im.Width == 0 || im.Height == 0 {
		return nil, r.errf("IFD at %d: image size %dx%d", d.offset, im.Width, im.Height)
	}
	if im.Bands, err = u(tSamplesPerPixel, 1); err != nil {
		return nil, err
	}
	if im.Bands == 0 || im.Bands > 1<<16 {
		return nil, r.errf("IFD at %d: %d samples per pixel", d.offset, im.Bands)
	}
	if im.Compression, err = u(tCompression, CompressionNone); err != nil {
		return nil, err
	}
	if im.Photometric, err = u(tPhotometricInterpretation, photoBlackIsZero); err != nil {
		return nil, err
	}
	if im.Predictor, err = u(tPredictor, PredictorNone); err != nil {
		return nil, err
	}
	planar, err := u(tPlanarConfiguration, planarChunky)
	if err != nil {
		return nil, err
	}
	im.Planar = planar == planarPlanar && im.Bands > 1
	if !supportedCompression(im.Compression) {
		return nil, unsupportedErr(r.name, "compression %s (%d)", compressionName(im.Compression), im.Compression)
	}
	if err := r.sampleType(d, im); err != nil {
		return nil, err
	}
	if im.Photometric == photoYCbCr {
		return nil, unsupportedErr(r.name, "YCbCr photometric interpretation without JPEG")
	}
	if err := r.blockLayout(d, im); err != nil {
		return nil, err
	}
	if extra, ok, err := r.uints(d, tExtraSamples); err != nil {
		return nil, err
	} else if ok && len(extra) <= im.Bands {
		for i, e := range extra {
			if e == 1 || e == 2 {
				im.Alpha = im.Bands - len(extra) + i
				break
			}
		}
	}
	if cm, ok, err := r.uints(d, tColorMap); err != nil {
		return nil, err
	} else if ok && im.BitsPerSample <= 16 && len(cm) == 3<<im.BitsPerSample {
		n := len(cm) / 3
		im.ColorMap = make([][3]uint16, n)
		for i := range im.ColorMap {
			im.ColorMap[i] = [3]uint16{uint16(cm[i]), uint16(cm[n+i]), uint16(cm[2*n+i])}
		}
	}
	if im.Geo, err = r.parseGeoref(d); err != nil {
		return nil, err
	}
	if s, ok := r.str(d, tGDALNodata); ok {
		im.Nodata = parseNodata(s)
	}
	if s, ok := r.str(d, tGDALMetadata); ok {
		im.Meta = parseMetadata(s)
	}
	return im, nil
}

// sampleType validates BitsPerSample, SampleFormat and Predictor.
func (r *reader) sampleType(d *ifd, im *Image) error {
	same := func(tag uint16, def uint64) (uint64, error) {
		v, ok, err := r.uints(d, tag)
		if err != nil {
			return 0, err
		}
		if !ok || len(v) == 0 {
			return def, nil
		}
		for _, x := range v[1:min(len(v), im.Bands)] {
			if x != v[0] {
				return 0, unsupportedErr(r.name, "tag %d differing between samples", tag)
			}
		}
		return v[0], nil
	}
	bps, err := same(tBitsPerSample, 1)
	if err != nil {
		return err
	}
	sf, err := same(tSampleFormat, sampleUint)
	if err != nil {
		return err
	}
	if sf == sampleVoid {
		sf = sampleUint
	}
	im.BitsPerSample = int(min(bps, 1<<16))
	type key struct{ bits, format uint64 }
	dt, ok := map[key]DType{
		{1, sampleUint}: Uint8, {8, sampleUint}: Uint8, {8, sampleInt}: Int8,
		{16, sampleUint}: Uint16, {16, sampleInt}: Int16,
		{32, sampleUint}: Uint32, {32, sampleInt}: Int32, {32, sampleFloat}: Float32,
		{64, sampleFloat}: Float64,
	}[key{bps, sf}]
	if !ok {
		formats := map[uint64]string{sampleUint: "unsigned", sampleInt: "signed", sampleFloat: "floating-point"}
		fs := formats[sf]
		if fs == "" {
			fs = fmt.Sprintf("format %d", sf)
		}
		return unsupportedErr(r.name, "%d-bit %s samples", bps, fs)
	}
	if bps == 1 && im.Bands != 1 {
		return unsupportedErr(r.name, "1-bit images with %d samples", im.Bands)
	}
	im.DType = dt
	switch {
	case im.Predictor == PredictorNone:
	case !predictorApplies(im.Compression):
		im.Predictor = PredictorNone // libtiff ignores it for these codecs
	case im.Predictor == PredictorHorizontal && bps >= 8:
	case im.Predictor == PredictorFloatingPoint && sf == sampleFloat:
	default:
		return unsupportedErr(r.name, "predictor %d with %d-bit samples", im.Predictor, bps)
	}
	return nil
}

func predictorApplies(comp int) bool {
	switch comp {
	case CompressionLZW, CompressionDeflate, CompressionDeflateOld, CompressionZSTD:
		return true
	}
	return false
}

// blockLayout reads the tile or strip geometry and the block offsets.
func (r *reader) blockLayout(d *ifd, im *Image) error {
	offTag, cntTag := uint16(tStripOffsets), uint16(tStripByteCounts)
	if d.entries[tTileWidth] != nil || d.entries[tTileOffsets] != nil {
		im.Tiled = true
		offTag, cntTag = tTileOffsets, tTileByteCounts
		tw, err := r.uint1(d, tTileWidth, 0)
		if err != nil {
			return err
		}
		th, err := r.uint1(d, tTileLength, 0)
		if err != nil {
			return err
		}
		if tw == 0 || th == 0 || tw > 1<<24 || th > 1<<24 {
			return r.errf("IFD at %d: tile size %dx%d", d.offset, tw, th)
		}
		im.BlockW, im.BlockH = int(tw), int(th)
	} else {
		rps, err := r.uint1(d, tRowsPerStrip, 1<<32-1)
		if err != nil {
			return err
		}
		if rps == 0 {
			return r.errf("IFD at %d: RowsPerStrip is 0", d.offset)
		}
		im.BlockW, im.BlockH = im.Width, int(min(rps, uint64(im.Height)))
	}
	im.spb = im.Bands
	if im.Planar {
		im.spb = 1
	}
	if n := uint64(im.BlockW) * uint64(im.BlockH) * uint64(im.spb) * uint64(im.DType.Size()); n > maxBlockBytes {
		return r.errf("IFD at %d: block of %d bytes exceeds the %d byte limit", d.offset, n, maxBlockBytes)
	}
	im.across = (im.Width + im.BlockW - 1) / im.BlockW
	im.down = (im.Height + im.BlockH - 1) / im.BlockH
	n := uint64(im.across) * uint64(im.down)
	if im.Planar {
		n *= uint64(im.Bands)
	}
	var err error
	var ok bool
	if im.offsets, ok, err = r.uints(d, offTag); err != nil {
		return err
	} else if !ok {
		return r.errf("IFD at %d: no block offsets", d.offset)
	}
	if im.counts, ok, err = r.uints(d, cntTag); err != nil {
		return err
	} else if !ok {
		return r.errf("IFD at %d: no block byte counts", d.offset)
	}
	if uint64(len(im.offsets)) < n || uint64(len(im.counts)) < n {
		return r.errf("IFD at %d: %d/%d block offsets/counts for %d blocks", d.offset, len(im.offsets), len(im.counts), n)
	}
	im.offsets, im.counts = im.offsets[:n], im.counts[:n]
	return nil
}

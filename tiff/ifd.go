package tiff

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/rasterflow/rasterflow/blob"
)

// Limits that keep a hostile header from making the reader allocate or loop
// without bound. Real files are far below them.
const (
	maxIFDs        = 4096     // IFDs in one file
	maxIFDEntries  = 4096     // entries in one IFD
	headCacheBytes = 64 << 10 // bytes read up front: COG headers fit in it
	maxBlockBytes  = 1 << 30  // decoded bytes of one tile or strip
	maxRawBlock    = 1 << 30  // encoded bytes of one tile or strip
)

// knownTags are the tags whose values are read; others are skipped, so that
// the bytes read for tag values stay bounded.
var knownTags = map[uint16]bool{
	tNewSubfileType: true, tImageWidth: true, tImageLength: true, tBitsPerSample: true,
	tCompression: true, tPhotometricInterpretation: true, tImageDescription: true,
	tStripOffsets: true, tSamplesPerPixel: true, tRowsPerStrip: true, tStripByteCounts: true,
	tPlanarConfiguration: true, tSoftware: true, tPredictor: true, tColorMap: true,
	tTileWidth: true, tTileLength: true, tTileOffsets: true, tTileByteCounts: true,
	tExtraSamples: true, tSampleFormat: true,
	tModelPixelScale: true, tModelTiepoint: true, tModelTransformation: true,
	tGeoKeyDirectory: true, tGeoDoubleParams: true, tGeoASCIIParams: true,
	tGDALMetadata: true, tGDALNodata: true,
}

// entry is one IFD entry whose value bytes (in file byte order) were read.
type entry struct {
	typ   uint16
	count uint64
	data  []byte
}

// ifd is one image file directory.
type ifd struct {
	offset  int64
	entries map[uint16]*entry
}

// reader reads the header part of a file through a prefix cache and keeps
// the byte order and a budget for tag value bytes.
type reader struct {
	src    blob.Source
	name   string
	size   int64
	head   []byte
	bo     binary.ByteOrder
	big    bool
	budget int64 // tag value bytes that may still be read
}

func (r *reader) errf(format string, args ...any) error { return formatErr(r.name, format, args...) }

// readAt reads exactly n bytes at off, checking the range against the size.
func (r *reader) readAt(off int64, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > r.size || n > r.size-off {
		return nil, r.errf("range [%d,+%d) outside file of %d bytes", off, n, r.size)
	}
	if off+n <= int64(len(r.head)) {
		return r.head[off : off+n : off+n], nil
	}
	b := make([]byte, n)
	if _, err := r.src.ReadAt(b, off); err != nil {
		return nil, r.errf("reading %d bytes at %d: %v", n, off, err)
	}
	return b, nil
}

// parseHeader reads the file header and returns the offset of the first IFD.
func (r *reader) parseHeader() (int64, error) {
	n := r.size
	if n > headCacheBytes {
		n = headCacheBytes
	}
	if n < 8 {
		return 0, r.errf("file too short (%d bytes)", r.size)
	}
	r.head = make([]byte, n)
	if _, err := r.src.ReadAt(r.head, 0); err != nil {
		return 0, r.errf("reading header: %v", err)
	}
	switch string(r.head[:2]) {
	case leHeader:
		r.bo = binary.LittleEndian
	case beHeader:
		r.bo = binary.BigEndian
	default:
		return 0, r.errf("not a TIFF file (bad byte order mark)")
	}
	switch r.bo.Uint16(r.head[2:]) {
	case versionClassic:
		return int64(r.bo.Uint32(r.head[4:])), nil
	case versionBig:
		if n < 16 {
			return 0, r.errf("BigTIFF header truncated")
		}
		if r.bo.Uint16(r.head[4:]) != 8 || r.bo.Uint16(r.head[6:]) != 0 {
			return 0, r.errf("bad BigTIFF offset size")
		}
		r.big = true
		off := r.bo.Uint64(r.head[8:])
		if off > math.MaxInt64 {
			return 0, r.errf("first IFD offset %d out of range", off)
		}
		return int64(off), nil
	}
	return 0, r.errf("bad TIFF version %d", r.bo.Uint16(r.head[2:]))
}

// readIFD parses the IFD at off and returns it and the next IFD offset.
func (r *reader) readIFD(off int64) (*ifd, int64, error) {
	cntSize, entSize, valSize := int64(2), int64(12), int64(4)
	if r.big {
		cntSize, entSize, valSize = 8, 20, 8
	}
	b, err := r.readAt(off, cntSize)
	if err != nil {
		return nil, 0, err
	}
	var n uint64
	if r.big {
		n = r.bo.Uint64(b)
	} else {
		n = uint64(r.bo.Uint16(b))
	}
	if n == 0 || n > maxIFDEntries {
		return nil, 0, r.errf("IFD at %d has %d entries", off, n)
	}
	body, err := r.readAt(off+cntSize, int64(n)*entSize+valSize)
	if err != nil {
		return nil, 0, err
	}
	d := &ifd{offset: off, entries: make(map[uint16]*entry)}
	for i := int64(0); i < int64(n); i++ {
		e := body[i*entSize : (i+1)*entSize]
		tag, typ := r.bo.Uint16(e), r.bo.Uint16(e[2:])
		if !knownTags[tag] || d.entries[tag] != nil {
			continue
		}
		ts, ok := typeSize[typ]
		if !ok {
			continue // unknown field types are skipped (TIFF 6.0 section 2)
		}
		var count uint64
		var val []byte
		if r.big {
			count, val = r.bo.Uint64(e[4:]), e[12:20]
		} else {
			count, val = uint64(r.bo.Uint32(e[4:])), e[8:12]
		}
		if count > uint64(r.size)/uint64(ts)+1 {
			return nil, 0, r.errf("tag %d: count %d exceeds file size", tag, count)
		}
		nb := int64(count) * int64(ts)
		var data []byte
		if nb <= valSize {
			data = val[:nb:nb]
		} else {
			var voff int64
			if r.big {
				u := r.bo.Uint64(val)
				if u > math.MaxInt64 {
					return nil, 0, r.errf("tag %d: bad offset", tag)
				}
				voff = int64(u)
			} else {
				voff = int64(r.bo.Uint32(val))
			}
			if nb > r.budget {
				return nil, 0, r.errf("tag values exceed %d bytes in total", r.budget)
			}
			r.budget -= nb
			if data, err = r.readAt(voff, nb); err != nil {
				return nil, 0, err
			}
		}
		d.entries[tag] = &entry{typ: typ, count: count, data: data}
	}
	nx := body[int64(n)*entSize:]
	var next uint64
	if r.big {
		next = r.bo.Uint64(nx)
	} else {
		next = uint64(r.bo.Uint32(nx))
	}
	if next > math.MaxInt64 {
		return nil, 0, r.errf("next IFD offset %d out of range", next)
	}
	return d, int64(next), nil
}

// uints returns an integer-typed tag's values, or ok=false when absent.
func (r *reader) uints(d *ifd, tag uint16) (v []uint64, ok bool, err error) {
	e := d.entries[tag]
	if e == nil {
		return nil, false, nil
	}
	v = make([]uint64, e.count)
	for i := range v {
		switch e.typ {
		case dtByte, dtUndefined:
			v[i] = uint64(e.data[i])
		case dtShort:
			v[i] = uint64(r.bo.Uint16(e.data[2*i:]))
		case dtLong, dtIFD:
			v[i] = uint64(r.bo.Uint32(e.data[4*i:]))
		case dtLong8, dtIFD8:
			v[i] = r.bo.Uint64(e.data[8*i:])
		case dtSByte:
			v[i] = uint64(max(int8(e.data[i]), 0))
		case dtSShort:
			v[i] = uint64(max(int16(r.bo.Uint16(e.data[2*i:])), 0))
		case dtSLong:
			v[i] = uint64(max(int32(r.bo.Uint32(e.data[4*i:])), 0))
		case dtSLong8:
			v[i] = uint64(max(int64(r.bo.Uint64(e.data[8*i:])), 0))
		default:
			return nil, true, r.errf("tag %d: type %d is not an integer type", tag, e.typ)
		}
	}
	return v, true, nil
}

// uint1 returns the first value of an integer tag, or def when absent.
func (r *reader) uint1(d *ifd, tag uint16, def uint64) (uint64, error) {
	v, ok, err := r.uints(d, tag)
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if len(v) == 0 {
		return 0, r.errf("tag %d has no value", tag)
	}
	return v[0], nil
}

// floats returns a numeric tag's values as float64.
func (r *reader) floats(d *ifd, tag uint16) ([]float64, bool, error) {
	e := d.entries[tag]
	if e == nil {
		return nil, false, nil
	}
	v := make([]float64, e.count)
	for i := range v {
		switch e.typ {
		case dtDouble:
			v[i] = math.Float64frombits(r.bo.Uint64(e.data[8*i:]))
		case dtFloat:
			v[i] = float64(math.Float32frombits(r.bo.Uint32(e.data[4*i:])))
		case dtRational:
			v[i] = float64(r.bo.Uint32(e.data[8*i:])) / float64(r.bo.Uint32(e.data[8*i+4:]))
		case dtSRational:
			v[i] = float64(int32(r.bo.Uint32(e.data[8*i:]))) / float64(int32(r.bo.Uint32(e.data[8*i+4:])))
		default:
			u, _, err := r.uints(d, tag)
			if err != nil {
				return nil, true, err
			}
			for j := range u {
				v[j] = float64(u[j])
			}
			return v, true, nil
		}
	}
	return v, true, nil
}

// str returns an ASCII tag's value without trailing NULs.
func (r *reader) str(d *ifd, tag uint16) (string, bool) {
	e := d.entries[tag]
	if e == nil || (e.typ != dtASCII && e.typ != dtByte && e.typ != dtUndefined) {
		return "", false
	}
	return strings.TrimRight(string(e.data), "\x00"), true
}

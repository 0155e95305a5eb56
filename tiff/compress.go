package tiff

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// tileEncoder compresses one tile's bytes (already predictor-encoded). It is
// safe for concurrent use.
type tileEncoder interface {
	encode(dst *bytes.Buffer, src []byte) error
}

// newTileEncoder returns the encoder for a TIFF compression scheme. level 0
// selects the scheme's default (GDAL's defaults: ZLEVEL=6, ZSTD_LEVEL=9).
func newTileEncoder(compression, level int) (tileEncoder, error) {
	switch compression {
	case CompressionNone:
		return rawEncoder{}, nil
	case CompressionDeflate:
		if level == 0 {
			level = 6
		}
		if level < 1 || level > 9 {
			return nil, fmt.Errorf("tiff: deflate level %d out of range 1..9", level)
		}
		return &deflateEncoder{level: level}, nil
	case CompressionZSTD:
		if level == 0 {
			level = 9
		}
		if level < 1 || level > 22 {
			return nil, fmt.Errorf("tiff: zstd level %d out of range 1..22", level)
		}
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
		if err != nil {
			return nil, fmt.Errorf("tiff: zstd encoder: %w", err)
		}
		return &zstdEncoder{enc: enc}, nil
	case CompressionLZW:
		return lzwEncoder{}, nil
	}
	return nil, fmt.Errorf("tiff: cannot write compression %d", compression)
}

type rawEncoder struct{}

func (rawEncoder) encode(dst *bytes.Buffer, src []byte) error {
	dst.Write(src)
	return nil
}

// deflateEncoder writes zlib streams (TIFF compression 8, Adobe Deflate).
type deflateEncoder struct {
	level int
	pool  sync.Pool // *zlib.Writer
}

func (e *deflateEncoder) encode(dst *bytes.Buffer, src []byte) error {
	zw, _ := e.pool.Get().(*zlib.Writer)
	if zw == nil {
		var err error
		if zw, err = zlib.NewWriterLevel(dst, e.level); err != nil {
			return fmt.Errorf("tiff: deflate: %w", err)
		}
	} else {
		zw.Reset(dst)
	}
	defer e.pool.Put(zw)
	if _, err := zw.Write(src); err != nil {
		return fmt.Errorf("tiff: deflate: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("tiff: deflate: %w", err)
	}
	return nil
}

// zstdEncoder writes one zstd frame per tile; EncodeAll is safe for
// concurrent use.
type zstdEncoder struct{ enc *zstd.Encoder }

func (e *zstdEncoder) encode(dst *bytes.Buffer, src []byte) error {
	out := e.enc.EncodeAll(src, dst.AvailableBuffer())
	dst.Write(out)
	return nil
}

// lzwEncoder writes TIFF LZW (TIFF 6.0 section 13): MSB-first codes of 9 to
// 12 bits, Clear=256, EOI=257, with libtiff's "early change": the code width
// grows one code before the table would overflow it, which is what every TIFF
// reader expects.
type lzwEncoder struct{}

const (
	lzwClear   = 256
	lzwEOI     = 257
	lzwFirst   = 258
	lzwMaxCode = 4095 // largest 12-bit code
)

func (lzwEncoder) encode(dst *bytes.Buffer, src []byte) error {
	// table maps (prefix code << 8 | byte) to the code of that string.
	table := make(map[uint32]uint16, lzwMaxCode+1)
	var acc uint32 // bit accumulator
	var nacc uint  // bits in acc
	width := uint(9)
	put := func(code uint16) {
		acc = acc<<width | uint32(code)
		nacc += width
		for nacc >= 8 {
			dst.WriteByte(byte(acc >> (nacc - 8)))
			nacc -= 8
		}
		acc &= 1<<nacc - 1
	}
	next := uint16(lzwFirst)
	// grow accounts for one new table entry, resetting the table (with a
	// Clear code) when it is full, as libtiff's encoder does.
	grow := func() {
		next++
		if next == lzwMaxCode-1 {
			put(lzwClear)
			clear(table)
			next = lzwFirst
			width = 9
		} else if uint(next) > 1<<width-1 {
			width++
		}
	}
	put(lzwClear)
	if len(src) == 0 {
		put(lzwEOI)
		if nacc > 0 {
			dst.WriteByte(byte(acc << (8 - nacc)))
		}
		return nil
	}
	ent := uint16(src[0])
	for _, c := range src[1:] {
		key := uint32(ent)<<8 | uint32(c)
		if code, ok := table[key]; ok {
			ent = code
			continue
		}
		put(ent)
		table[key] = next
		grow()
		ent = uint16(c)
	}
	put(ent)
	grow()
	put(lzwEOI)
	if nacc > 0 {
		dst.WriteByte(byte(acc << (8 - nacc)))
	}
	return nil
}

// encodePredictor applies a TIFF predictor in place to a tile of rows of
// width pixels with spp interleaved little-endian samples of size bytes.
// buf must hold whole rows. scratch (len >= one row) is used by predictor 3.
func encodePredictor(buf []byte, predictor, width, spp, size int, scratch []byte) {
	rowBytes := width * spp * size
	switch predictor {
	case PredictorHorizontal:
		for r := 0; r+rowBytes <= len(buf); r += rowBytes {
			horizontalDiff(buf[r:r+rowBytes], spp, size)
		}
	case PredictorFloatingPoint:
		for r := 0; r+rowBytes <= len(buf); r += rowBytes {
			floatDiff(buf[r:r+rowBytes], spp, size, scratch[:rowBytes])
		}
	}
}

// horizontalDiff is predictor 2: each sample minus the same band's sample of
// the previous pixel, modulo 2^bits, processed right to left.
func horizontalDiff(row []byte, spp, size int) {
	le := binary.LittleEndian
	switch size {
	case 1:
		for i := len(row) - 1; i >= spp; i-- {
			row[i] -= row[i-spp]
		}
	case 2:
		st := 2 * spp
		for i := len(row) - 2; i >= st; i -= 2 {
			le.PutUint16(row[i:], le.Uint16(row[i:])-le.Uint16(row[i-st:]))
		}
	case 4:
		st := 4 * spp
		for i := len(row) - 4; i >= st; i -= 4 {
			le.PutUint32(row[i:], le.Uint32(row[i:])-le.Uint32(row[i-st:]))
		}
	case 8:
		st := 8 * spp
		for i := len(row) - 8; i >= st; i -= 8 {
			le.PutUint64(row[i:], le.Uint64(row[i:])-le.Uint64(row[i-st:]))
		}
	}
}

// floatDiff is predictor 3 (Adobe TIFF Technical Note 3, as libtiff's
// fpDiff): the row's bytes are regrouped into byte planes, most significant
// byte first, then byte-differenced with a stride of spp.
func floatDiff(row []byte, spp, size int, tmp []byte) {
	copy(tmp, row)
	wc := len(row) / size
	for i := 0; i < wc; i++ {
		for b := 0; b < size; b++ {
			row[(size-b-1)*wc+i] = tmp[size*i+b]
		}
	}
	for i := len(row) - 1; i >= spp; i-- {
		row[i] -= row[i-spp]
	}
}

package tiff

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// codecs holds reusable decompressor state for one File. It is safe for
// concurrent use.
type codecs struct {
	flate sync.Pool // *inflater
	lzw   sync.Pool // *lzwTable
	dec   blockPool // decoded blocks
	raw   blockPool // encoded blocks and other scratch

	zstdOnce sync.Once
	zstd     *zstd.Decoder
	zstdErr  error
}

func (c *codecs) close() {
	if c.zstd != nil {
		c.zstd.Close()
	}
}

// blockPool recycles byte buffers of similar sizes.
type blockPool struct{ p sync.Pool }

// get returns a buffer of length n; give it back with put.
func (bp *blockPool) get(n int) *[]byte {
	if p, ok := bp.p.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

func (bp *blockPool) put(p *[]byte) { bp.p.Put(p) }

// decompress decodes one block's bytes into dst, which it fills exactly.
func (c *codecs) decompress(comp int, src, dst []byte) error {
	switch comp {
	case CompressionNone:
		if len(src) < len(dst) {
			return fmt.Errorf("uncompressed block has %d bytes, want %d", len(src), len(dst))
		}
		copy(dst, src)
		return nil
	case CompressionDeflate, CompressionDeflateOld:
		return c.inflate(src, dst)
	case CompressionLZW:
		t, _ := c.lzw.Get().(*lzwTable)
		if t == nil {
			t = new(lzwTable)
		}
		err := decodeLZW(t, src, dst)
		c.lzw.Put(t)
		return err
	case CompressionPackBits:
		return decodePackBits(src, dst)
	case CompressionZSTD:
		return c.unzstd(src, dst)
	}
	return &UnsupportedError{Feature: "compression " + compressionName(comp)}
}

// inflate decodes a zlib stream (RFC 1950). The Adler-32 trailer is not
// checked: the decoded length is checked instead, as libtiff does in effect.
func (c *codecs) inflate(src, dst []byte) error {
	if len(src) < 2 || src[0]&0x0f != 8 || (uint16(src[0])<<8|uint16(src[1]))%31 != 0 {
		return errors.New("bad zlib header")
	}
	if src[1]&0x20 != 0 {
		return errors.New("zlib preset dictionary not allowed")
	}
	d, _ := c.flate.Get().(*inflater)
	if d == nil {
		d = new(inflater)
	}
	err := d.inflate(src[2:], dst)
	d.src = nil
	c.flate.Put(d)
	return err
}

func (c *codecs) unzstd(src, dst []byte) error {
	c.zstdOnce.Do(func() {
		c.zstd, c.zstdErr = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithDecoderMaxMemory(maxBlockBytes))
	})
	if c.zstdErr != nil {
		return c.zstdErr
	}
	out, err := c.zstd.DecodeAll(src, dst[:0])
	if err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	if len(out) < len(dst) {
		return fmt.Errorf("zstd: block has %d bytes, want %d", len(out), len(dst))
	}
	if &out[0] != &dst[0] {
		copy(dst, out)
	}
	return nil
}

// decodePackBits decodes Apple PackBits (TIFF 6.0 section 9).
func decodePackBits(src, dst []byte) error {
	o := 0
	for i := 0; i < len(src) && o < len(dst); {
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0:
			if i+n+1 > len(src) {
				return errors.New("packbits: literal run past end of data")
			}
			o += copy(dst[o:], src[i:i+n+1])
			i += n + 1
		case n != -128:
			if i >= len(src) {
				return errors.New("packbits: repeat run past end of data")
			}
			b := src[i]
			i++
			for k := 0; k < 1-n && o < len(dst); k++ {
				dst[o] = b
				o++
			}
		}
	}
	if o < len(dst) {
		return fmt.Errorf("packbits: block has %d bytes, want %d", o, len(dst))
	}
	return nil
}

// swapBytes converts samples of the given size from big- to little-endian.
func swapBytes(b []byte, size int) {
	switch size {
	case 2:
		v := asSlice[uint16](b)
		for i := range v {
			v[i] = bits.ReverseBytes16(v[i])
		}
	case 4:
		v := asSlice[uint32](b)
		for i := range v {
			v[i] = bits.ReverseBytes32(v[i])
		}
	case 8:
		v := asSlice[uint64](b)
		for i := range v {
			v[i] = bits.ReverseBytes64(v[i])
		}
	}
}

type word interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

// accumulate undoes horizontal differencing (predictor 2) on rows of
// rowLen samples, each sample being the difference from the sample stride
// positions before it.
func accumulate[T word](v []T, rowLen, stride int) {
	for r := 0; r+rowLen <= len(v); r += rowLen {
		row := v[r : r+rowLen]
		if stride == 1 {
			acc := row[0]
			for i := 1; i < len(row); i++ {
				acc += row[i]
				row[i] = acc
			}
			continue
		}
		for i := stride; i < len(row); i++ {
			row[i] += row[i-stride]
		}
	}
}

// undoHorizontal undoes predictor 2 on little-endian samples.
func undoHorizontal(b []byte, size, rowLen, stride int) {
	switch size {
	case 1:
		accumulate(b, rowLen, stride)
	case 2:
		accumulate(asSlice[uint16](b), rowLen, stride)
	case 4:
		accumulate(asSlice[uint32](b), rowLen, stride)
	case 8:
		accumulate(asSlice[uint64](b), rowLen, stride)
	}
}

// undoFloatPredictor undoes predictor 3 (Adobe TIFF Technical Note 3): each
// row holds the samples' bytes as planes, most significant byte first,
// differenced bytewise with the given stride. The result is little-endian
// whatever the file's byte order, as in libtiff.
func undoFloatPredictor(b []byte, size, rowLen, stride int, tmp []byte) {
	rowBytes := rowLen * size
	tmp = tmp[:rowBytes]
	for r := 0; r+rowBytes <= len(b); r += rowBytes {
		row := b[r : r+rowBytes]
		for i := stride; i < rowBytes; i++ {
			row[i] += row[i-stride]
		}
		copy(tmp, row)
		for k := 0; k < size; k++ {
			plane := tmp[(size-1-k)*rowLen : (size-k)*rowLen]
			for i, v := range plane {
				row[i*size+k] = v
			}
		}
	}
}

// expandBits unpacks 1-bit rows (MSB first, each row padded to a byte) into
// one byte per pixel holding 0 or one.
func expandBits(packed, dst []byte, width, rows int, one byte) {
	rb := (width + 7) / 8
	for r := 0; r < rows; r++ {
		src := packed[r*rb : (r+1)*rb]
		out := dst[r*width : (r+1)*width]
		for i := range out {
			if src[i>>3]&(0x80>>(i&7)) != 0 {
				out[i] = one
			} else {
				out[i] = 0
			}
		}
	}
}

var compressionNames = map[int]string{
	CompressionNone: "NONE", CompressionLZW: "LZW", CompressionOldJPEG: "OJPEG",
	CompressionJPEG: "JPEG", CompressionDeflate: "DEFLATE", CompressionPackBits: "PACKBITS",
	CompressionDeflateOld: "DEFLATE", CompressionLERC: "LERC", CompressionLZMA: "LZMA",
	CompressionZSTD: "ZSTD", CompressionWebP: "WEBP", CompressionJXL: "JXL",
	2: "CCITTRLE", 3: "CCITTFAX3", 4: "CCITTFAX4", 34712: "JPEG2000", 34676: "SGILOG",
}

// compressionName is GDAL's name for a compression code (as in its
// COMPRESSION metadata item), or the number.
func compressionName(c int) string {
	if n, ok := compressionNames[c]; ok {
		return n
	}
	return fmt.Sprintf("%d", c)
}

func supportedCompression(c int) bool {
	switch c {
	case CompressionNone, CompressionLZW, CompressionDeflate, CompressionDeflateOld,
		CompressionPackBits, CompressionZSTD:
		return true
	}
	return false
}

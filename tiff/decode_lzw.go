package tiff

import "errors"

var errLZWTruncated = errors.New("LZW data ends before the block is complete")

// lzwTable holds, for each code above 257, where its string was first written
// in the output and its length: an LZW code's string always appears verbatim
// earlier in the output, so no string storage is needed.
type lzwTable struct {
	off [4096]int32
	len [4096]int32
}

// decodeLZW decodes TIFF LZW (TIFF 6.0 section 13: MSB-first codes, 9 to 12
// bits, code width switching one code early) from src into dst, filling dst
// completely. Old-style (pre-6.0, LSB-first) LZW is reported as unsupported.
func decodeLZW(t *lzwTable, src, dst []byte) error {
	if len(src) >= 2 && src[0] == 0 && src[1]&1 != 0 {
		return &UnsupportedError{Feature: "old-style (pre TIFF 6.0) LZW"}
	}
	const clear, eoi = 256, 257
	var (
		acc     uint64
		nbits   uint
		pos     int
		width   uint = 9
		next         = 258
		prev         = -1
		prevOff int
		prevLen int
		o       int
		n       = len(dst)
	)
	for o < n {
		if nbits < width {
			for nbits <= 56 && pos < len(src) {
				acc |= uint64(src[pos]) << (56 - nbits)
				pos++
				nbits += 8
			}
			if nbits < width {
				return errLZWTruncated
			}
		}
		code := int(acc >> (64 - width))
		acc <<= width
		nbits -= width
		if code == clear {
			width, next, prev = 9, 258, -1
			continue
		}
		if code == eoi {
			break
		}
		curLen := 0
		switch {
		case code < 256:
			dst[o] = byte(code)
			curLen = 1
		case prev == -1:
			return errors.New("LZW code after clear is not a literal")
		case code < next:
			l := int(t.len[code])
			off := int(t.off[code])
			curLen = copy(dst[o:], dst[off:off+l])
		case code == next:
			// The code being defined: previous string plus its first byte.
			curLen = copy(dst[o:], dst[prevOff:prevOff+prevLen])
			if o+curLen < n {
				dst[o+curLen] = dst[prevOff]
				curLen++
			}
		default:
			return errors.New("invalid LZW code")
		}
		if prev != -1 && next < 4096 {
			t.off[next] = int32(prevOff)
			t.len[next] = int32(prevLen + 1)
			next++
			if next >= (1<<width)-1 && width < 12 {
				width++
			}
		}
		prev, prevOff, prevLen = code, o, curLen
		o += curLen
	}
	if o < n {
		return errLZWTruncated
	}
	return nil
}

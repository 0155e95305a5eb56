package tiff

import (
	"encoding/binary"
	"errors"
)

// A whole-buffer Deflate decoder (RFC 1951). Unlike a streaming inflater it
// writes straight into the output block and resolves back-references there,
// with no sliding window to copy through, which is what makes libdeflate
// fast; TIFF blocks are small and their decoded size is known.

var (
	errInflateData      = errors.New("deflate: corrupt data")
	errInflateTruncated = errors.New("deflate: data ends before the block is complete")
)

const fastBits = 10 // bits resolved by one table lookup

// huffman is a canonical Huffman decoder: a table for codes of up to
// fastBits bits, and puff-style canonical decoding for longer ones.
type huffman struct {
	fast  [1 << fastBits]uint16 // sym<<4 | length; 0 for longer codes
	count [16]uint16
	sym   [288]uint16
}

// build sets up the decoder for the given code lengths.
func (h *huffman) build(lengths []uint8) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return errInflateData // over-subscribed
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			h.sym[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.fast = [1 << fastBits]uint16{}
	code, idx := 0, 0
	for l := 1; l <= fastBits; l++ {
		for k := 0; k < int(h.count[l]); k++ {
			rev := 0
			for b := 0; b < l; b++ {
				rev |= (code >> b & 1) << (l - 1 - b)
			}
			e := h.sym[idx]<<4 | uint16(l)
			for j := rev; j < 1<<fastBits; j += 1 << l {
				h.fast[j] = e
			}
			code++
			idx++
		}
		code <<= 1
	}
	return nil
}

// inflater decodes one Deflate stream into a flat buffer.
type inflater struct {
	src    []byte
	pos    int
	bits   uint64
	nbits  uint
	over   int // zero bytes fed past the end of src
	lit    huffman
	dist   huffman
	clen   huffman
	length [320]uint8
}

func (d *inflater) refill() {
	if d.pos+8 <= len(d.src) {
		d.bits |= binary.LittleEndian.Uint64(d.src[d.pos:]) << d.nbits
		d.pos += int(63-d.nbits) >> 3
		d.nbits |= 56
		return
	}
	for d.nbits <= 56 {
		if d.pos < len(d.src) {
			d.bits |= uint64(d.src[d.pos]) << d.nbits
			d.pos++
		} else {
			d.over++
		}
		d.nbits += 8
	}
}

// overrun reports whether bits past the end of src were consumed.
func (d *inflater) overrun() bool { return d.over > 0 && d.nbits < uint(d.over)*8 }

func (d *inflater) take(n uint) uint32 {
	if d.nbits < n {
		d.refill()
	}
	v := uint32(d.bits & (1<<n - 1))
	d.bits >>= n
	d.nbits -= n
	return v
}

// decode reads one symbol; the caller has refilled to at least 15 bits.
func (d *inflater) decode(h *huffman) (int, error) {
	if e := h.fast[d.bits&(1<<fastBits-1)]; e != 0 {
		n := uint(e & 15)
		d.bits >>= n
		d.nbits -= n
		return int(e >> 4), nil
	}
	code, first, index := 0, 0, 0
	for l := uint(1); l < 16; l++ {
		code |= int(d.bits>>(l-1)) & 1
		count := int(h.count[l])
		if code-first < count {
			d.bits >>= l
			d.nbits -= l
			return int(h.sym[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errInflateData
}

var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// inflate decodes the raw Deflate stream src into dst, which it must fill
// exactly; data after dst is full is ignored, as libtiff does.
func (d *inflater) inflate(src, dst []byte) error {
	d.src, d.pos, d.bits, d.nbits, d.over = src, 0, 0, 0, 0
	o := 0
	for o < len(dst) {
		final := d.take(1)
		switch d.take(2) {
		case 0:
			d.bits >>= d.nbits & 7 // to a byte boundary
			d.nbits -= d.nbits & 7
			n, nn := int(d.take(16)), int(d.take(16))
			if n != ^nn&0xffff {
				return errInflateData
			}
			// Drain whole bytes held in the bit buffer back into src order.
			for n > 0 && d.nbits >= 8 {
				if o >= len(dst) {
					return nil
				}
				dst[o] = byte(d.bits)
				d.bits >>= 8
				d.nbits -= 8
				o++
				n--
			}
			if d.over > 0 || d.pos+n > len(src) {
				return errInflateTruncated
			}
			d.bits = 0 // drop look-ahead copies of the bytes copied below
			o += copy(dst[o:], src[d.pos:d.pos+n])
			d.pos += n
		case 1:
			for i := range 288 {
				switch {
				case i < 144:
					d.length[i] = 8
				case i < 256:
					d.length[i] = 9
				case i < 280:
					d.length[i] = 7
				default:
					d.length[i] = 8
				}
			}
			for i := 288; i < 320; i++ {
				d.length[i] = 5
			}
			d.lit.build(d.length[:288])
			d.dist.build(d.length[288:320])
			var err error
			if o, err = d.codes(dst, o); err != nil {
				return err
			}
		case 2:
			if err := d.dynamic(); err != nil {
				return err
			}
			var err error
			if o, err = d.codes(dst, o); err != nil {
				return err
			}
		default:
			return errInflateData
		}
		if d.overrun() {
			return errInflateTruncated
		}
		if final == 1 && o < len(dst) {
			return errInflateTruncated
		}
	}
	return nil
}

// dynamic reads a dynamic block's code length tables.
func (d *inflater) dynamic() error {
	nlen := int(d.take(5)) + 257
	ndist := int(d.take(5)) + 1
	ncode := int(d.take(4)) + 4
	if nlen > 286 || ndist > 30 {
		return errInflateData
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		cl[clenOrder[i]] = uint8(d.take(3))
	}
	if err := d.clen.build(cl[:]); err != nil {
		return err
	}
	lengths := d.length[:nlen+ndist]
	for i := 0; i < len(lengths); {
		if d.overrun() {
			return errInflateTruncated
		}
		if d.nbits < 16 {
			d.refill()
		}
		sym, err := d.decode(&d.clen)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errInflateData
			}
			val, rep = lengths[i-1], 3+int(d.take(2))
		case 17:
			rep = 3 + int(d.take(3))
		default:
			rep = 11 + int(d.take(7))
		}
		if i+rep > len(lengths) {
			return errInflateData
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errInflateData
	}
	if err := d.lit.build(lengths[:nlen]); err != nil {
		return err
	}
	return d.dist.build(lengths[nlen:])
}

// codes decodes a compressed block's symbols into dst from o.
func (d *inflater) codes(dst []byte, o int) (int, error) {
	lit, dist := &d.lit, &d.dist
	for {
		if d.overrun() {
			return o, errInflateTruncated
		}
		if d.nbits < 48 {
			d.refill()
		}
		// 48 bits cover a length code, its extra bits, a distance code and
		// its extra bits (15+5+15+13), so no refill is needed below.
		var sym int
		if e := lit.fast[d.bits&(1<<fastBits-1)]; e != 0 {
			n := uint(e & 15)
			d.bits >>= n
			d.nbits -= n
			sym = int(e >> 4)
		} else {
			var err error
			if sym, err = d.decode(lit); err != nil {
				return o, err
			}
		}
		if sym < 256 {
			if o >= len(dst) {
				return o, nil // ignore data past the block, as libtiff does
			}
			dst[o] = byte(sym)
			o++
			continue
		}
		if sym == 256 {
			return o, nil
		}
		sym -= 257
		if sym >= 29 {
			return o, errInflateData
		}
		eb := uint(lenExtra[sym])
		n := int(lenBase[sym]) + int(d.bits&(1<<eb-1))
		d.bits >>= eb
		d.nbits -= eb
		var ds int
		if e := dist.fast[d.bits&(1<<fastBits-1)]; e != 0 {
			l := uint(e & 15)
			d.bits >>= l
			d.nbits -= l
			ds = int(e >> 4)
		} else {
			var err error
			if ds, err = d.decode(dist); err != nil {
				return o, err
			}
		}
		if ds >= 30 {
			return o, errInflateData
		}
		eb = uint(distExtra[ds])
		back := int(distBase[ds]) + int(d.bits&(1<<eb-1))
		d.bits >>= eb
		d.nbits -= eb
		if back > o {
			return o, errInflateData
		}
		if n > len(dst)-o {
			n = len(dst) - o
		}
		switch {
		case back >= 8 && o+n+8 <= len(dst):
			// 8 bytes at a time; may write up to 7 bytes past the match,
			// which later output overwrites.
			for k := 0; k < n; k += 8 {
				binary.LittleEndian.PutUint64(dst[o+k:], binary.LittleEndian.Uint64(dst[o-back+k:]))
			}
			o += n
		case n <= back:
			copy(dst[o:o+n], dst[o-back:])
			o += n
		default:
			for end := o + n; o < end; o++ {
				dst[o] = dst[o-back]
			}
		}
		if o >= len(dst) {
			return o, nil
		}
	}
}

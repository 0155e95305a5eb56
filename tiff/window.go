package tiff

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/rasterflow/rasterflow/blob"
)

// blockJob is one tile or strip to decode for a window.
type blockJob struct {
	idx    int   // index into offsets/counts
	bx, by int   // block column and row
	plane  int   // first sample held by the block (planar: the band)
	dsts   []int // for each sample in the block, the dst index or -1
	raw    []byte
}

// ReadWindow decodes the pixel window [x,x+w)×[y,y+h) of the given 0-based
// bands (all bands when bands is nil). Each returned band is a
// little-endian, row-major []byte of w*h*DType.Size() bytes. Pixels outside
// the image are set to the nodata value (0 when there is none or it does not
// fit the data type).
func (im *Image) ReadWindow(ctx context.Context, x, y, w, h int, bands []int) ([][]byte, error) {
	bands, err := im.bandList(bands)
	if err != nil {
		return nil, err
	}
	n, err := im.windowBytes(w, h)
	if err != nil {
		return nil, err
	}
	dst := make([][]byte, len(bands))
	for i := range dst {
		dst[i] = make([]byte, n)
	}
	if err := im.ReadWindowInto(ctx, x, y, w, h, bands, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// ReadWindowInto is ReadWindow into caller-provided buffers: dst[i] receives
// band bands[i] and must hold at least w*h*DType.Size() bytes.
func (im *Image) ReadWindowInto(ctx context.Context, x, y, w, h int, bands []int, dst [][]byte) error {
	bands, err := im.bandList(bands)
	if err != nil {
		return err
	}
	n, err := im.windowBytes(w, h)
	if err != nil {
		return err
	}
	if len(dst) != len(bands) {
		return fmt.Errorf("tiff: %d destination buffers for %d bands", len(dst), len(bands))
	}
	for i := range dst {
		if len(dst[i]) < n {
			return fmt.Errorf("tiff: destination buffer %d holds %d bytes, need %d", i, len(dst[i]), n)
		}
		dst[i] = dst[i][:n]
	}
	if x < 0 || y < 0 || x+w > im.Width || y+h > im.Height {
		fill := im.fillValue()
		for _, d := range dst {
			fillSamples(d, fill)
		}
	}
	jobs := im.jobs(x, y, w, h, bands)
	if len(jobs) == 0 {
		return nil
	}
	f := im.file
	if mr, ok := f.src.(blob.MultiReader); ok {
		if err := im.fetchAll(ctx, mr, jobs); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range jobs {
		j := &jobs[i]
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return im.readBlock(j, x, y, w, h, dst)
		})
	}
	return g.Wait()
}

func (im *Image) bandList(bands []int) ([]int, error) {
	if bands == nil {
		bands = make([]int, im.Bands)
		for i := range bands {
			bands[i] = i
		}
		return bands, nil
	}
	for _, b := range bands {
		if b < 0 || b >= im.Bands {
			return nil, fmt.Errorf("tiff: band %d out of range [0,%d)", b, im.Bands)
		}
	}
	return bands, nil
}

func (im *Image) windowBytes(w, h int) (int, error) {
	if w <= 0 || h <= 0 || w > math.MaxInt32 || h > math.MaxInt32 {
		return 0, fmt.Errorf("tiff: bad window size %dx%d", w, h)
	}
	n := uint64(w) * uint64(h) * uint64(im.DType.Size())
	if n > math.MaxInt/2 {
		return 0, fmt.Errorf("tiff: window %dx%d too large", w, h)
	}
	return int(n), nil
}

// jobs lists the blocks that intersect the window.
func (im *Image) jobs(x, y, w, h int, bands []int) []blockJob {
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+w, im.Width), min(y+h, im.Height)
	if x0 >= x1 || y0 >= y1 {
		return nil
	}
	planes := 1
	if im.Planar {
		planes = im.Bands
	}
	var jobs []blockJob
	for p := 0; p < planes; p++ {
		dsts := make([]int, im.spb)
		any := false
		for i := range dsts {
			dsts[i] = -1
		}
		for di, b := range bands {
			if b-p*im.spb >= 0 && b-p*im.spb < im.spb {
				dsts[b-p*im.spb] = di
				any = true
			}
		}
		if !any {
			continue
		}
		for by := y0 / im.BlockH; by*im.BlockH < y1; by++ {
			for bx := x0 / im.BlockW; bx*im.BlockW < x1; bx++ {
				idx := (p*im.down+by)*im.across + bx
				jobs = append(jobs, blockJob{idx: idx, bx: bx, by: by, plane: p, dsts: dsts})
			}
		}
	}
	return jobs
}

// blockRange returns a block's byte range, checked against the file size;
// ok is false for a sparse (absent) block.
func (im *Image) blockRange(idx int) (off, n int64, ok bool, err error) {
	o, c := im.offsets[idx], im.counts[idx]
	if o == 0 && c == 0 {
		return 0, 0, false, nil
	}
	size := uint64(im.file.src.Size())
	if c == 0 || c > maxRawBlock || o > size || c > size-o {
		return 0, 0, false, formatErr(im.file.name, "block %d at %d+%d outside file of %d bytes", idx, o, c, size)
	}
	return int64(o), int64(c), true, nil
}

// fetchAll reads every block of a window with one ReadRanges call.
func (im *Image) fetchAll(ctx context.Context, mr blob.MultiReader, jobs []blockJob) error {
	var ranges []blob.Range
	var which []int
	for i := range jobs {
		off, n, ok, err := im.blockRange(jobs[i].idx)
		if err != nil {
			return err
		}
		if ok && !im.file.cache.has(im, jobs[i].idx) {
			ranges = append(ranges, blob.Range{Off: off, Len: n})
			which = append(which, i)
		}
	}
	if len(ranges) == 0 {
		return nil
	}
	out, err := mr.ReadRanges(ctx, ranges)
	if err != nil {
		return fmt.Errorf("tiff: %s: %w", im.file.name, err)
	}
	if len(out) != len(ranges) {
		return fmt.Errorf("tiff: %s: ReadRanges returned %d ranges for %d", im.file.name, len(out), len(ranges))
	}
	for k, i := range which {
		if int64(len(out[k])) != ranges[k].Len {
			return formatErr(im.file.name, "short read of block %d", jobs[i].idx)
		}
		jobs[i].raw = out[k]
	}
	return nil
}

// readBlock fetches (unless prefetched), decodes and copies one block.
// Decoded blocks come from the File's cache when it has room for them.
func (im *Image) readBlock(j *blockJob, x, y, w, h int, dst [][]byte) error {
	f := im.file
	rows := min(im.BlockH, im.Height-j.by*im.BlockH)
	if im.Tiled {
		rows = im.BlockH
	}
	size := im.DType.Size()
	decLen := im.BlockW * rows * im.spb * size
	var dec []byte
	if f.cache.fits(decLen) {
		var err error
		if dec, err = f.cache.get(im, j.idx, decLen, func(b []byte) error { return im.decodeInto(j, b, rows) }); err != nil {
			return err
		}
	} else {
		decBuf := f.codecs.dec.get(decLen)
		defer f.codecs.dec.put(decBuf)
		dec = *decBuf
		if err := im.decodeInto(j, dec, rows); err != nil {
			return err
		}
	}
	// Intersect the block with the window and the image.
	bx0, by0 := j.bx*im.BlockW, j.by*im.BlockH
	c0, c1 := max(x, bx0), min(x+w, bx0+im.BlockW, im.Width)
	r0, r1 := max(y, by0), min(y+h, by0+rows, im.Height)
	for s, di := range j.dsts {
		if di < 0 {
			continue
		}
		for r := r0; r < r1; r++ {
			src := dec[((r-by0)*im.BlockW+(c0-bx0))*im.spb*size:]
			out := dst[di][((r-y)*w+(c0-x))*size : ((r-y)*w+(c1-x))*size]
			gather(out, src, s, im.spb, size)
		}
	}
	return nil
}

// decodeInto fetches (unless prefetched) and decodes block j into dec,
// which holds rows full rows of it.
func (im *Image) decodeInto(j *blockJob, dec []byte, rows int) error {
	f := im.file
	off, n, ok, err := im.blockRange(j.idx)
	if err != nil {
		return err
	}
	if !ok {
		fillSamples(dec, im.fillValue())
		return nil
	}
	raw := j.raw
	if raw == nil {
		rb := f.codecs.raw.get(int(n))
		defer f.codecs.raw.put(rb)
		raw = *rb
		if _, err := f.src.ReadAt(raw, off); err != nil {
			return fmt.Errorf("tiff: %s: reading block %d: %w", f.name, j.idx, err)
		}
	}
	if err := im.decodeBlock(raw, dec, rows); err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			ue.Name = f.name
			return ue
		}
		return formatErr(f.name, "block %d: %v", j.idx, err)
	}
	return nil
}

// decodeBlock decompresses raw into dec (rows full rows of the block) and
// converts it to little-endian samples.
func (im *Image) decodeBlock(raw, dec []byte, rows int) error {
	c := &im.file.codecs
	if im.BitsPerSample == 1 {
		packed := c.raw.get(rows * ((im.BlockW + 7) / 8))
		defer c.raw.put(packed)
		if err := c.decompress(im.Compression, raw, *packed); err != nil {
			return err
		}
		one := byte(1)
		if im.isMask {
			one = 255
		}
		expandBits(*packed, dec, im.BlockW, rows, one)
		return nil
	}
	if err := c.decompress(im.Compression, raw, dec); err != nil {
		return err
	}
	size := im.DType.Size()
	rowLen := im.BlockW * im.spb
	if im.Predictor == PredictorFloatingPoint {
		tmp := c.raw.get(rowLen * size)
		undoFloatPredictor(dec, size, rowLen, im.spb, *tmp)
		c.raw.put(tmp)
		return nil
	}
	if size > 1 && im.file.ByteOrder == binary.BigEndian {
		swapBytes(dec, size)
	}
	if im.Predictor == PredictorHorizontal {
		undoHorizontal(dec, size, rowLen, im.spb)
	}
	return nil
}

// gather copies len(out)/size samples, sample s of every stride-sample
// pixel of src, into out.
func gather(out, src []byte, s, stride, size int) {
	if stride == 1 {
		copy(out, src)
		return
	}
	n := len(out) / size
	if aligned(out, size) && aligned(src, size) {
		switch size {
		case 1:
			gatherT(out, src, n, s, stride)
			return
		case 2:
			gatherT(asSlice[uint16](out), asSlice[uint16](src), n, s, stride)
			return
		case 4:
			gatherT(asSlice[uint32](out), asSlice[uint32](src), n, s, stride)
			return
		case 8:
			gatherT(asSlice[uint64](out), asSlice[uint64](src), n, s, stride)
			return
		}
	}
	for i := 0; i < n; i++ {
		copy(out[i*size:(i+1)*size], src[(i*stride+s)*size:])
	}
}

func gatherT[T word](out, src []T, n, s, stride int) {
	src = src[s : s+(n-1)*stride+1]
	for i := range out[:n] {
		out[i] = src[i*stride]
	}
}

// fillValue returns the little-endian bytes of one sample of the fill value:
// nodata when it is representable in the data type, else 0.
func (im *Image) fillValue() []byte {
	if im.isMask {
		return make([]byte, im.DType.Size())
	}
	return sampleBytes(im.DType, im.Nodata)
}

// Fill sets every sample of the little-endian buffer b to nodata, as reads
// fill pixels outside an image: 0 when nodata is nil or does not fit dt.
func Fill(b []byte, dt DType, nodata *float64) {
	fillSamples(b, sampleBytes(dt, nodata))
}

// sampleBytes encodes one sample of nodata (0 when nil or not
// representable in dt).
func sampleBytes(dt DType, nodata *float64) []byte {
	b := make([]byte, dt.Size())
	if nodata == nil {
		return b
	}
	v := *nodata
	le := binary.LittleEndian
	inRange := func(lo, hi float64) bool { return v >= lo && v <= hi && v == math.Trunc(v) }
	switch dt {
	case Uint8:
		if inRange(0, math.MaxUint8) {
			b[0] = uint8(v)
		}
	case Int8:
		if inRange(math.MinInt8, math.MaxInt8) {
			b[0] = uint8(int8(v))
		}
	case Uint16:
		if inRange(0, math.MaxUint16) {
			le.PutUint16(b, uint16(v))
		}
	case Int16:
		if inRange(math.MinInt16, math.MaxInt16) {
			le.PutUint16(b, uint16(int16(v)))
		}
	case Uint32:
		if inRange(0, math.MaxUint32) {
			le.PutUint32(b, uint32(v))
		}
	case Int32:
		if inRange(math.MinInt32, math.MaxInt32) {
			le.PutUint32(b, uint32(int32(v)))
		}
	case Float32:
		le.PutUint32(b, math.Float32bits(float32(v)))
	case Float64:
		le.PutUint64(b, math.Float64bits(v))
	}
	return b
}

// fillSamples repeats the sample value over b.
func fillSamples(b, v []byte) {
	zero := true
	for _, c := range v {
		zero = zero && c == 0
	}
	if zero {
		clear(b)
		return
	}
	if len(b) < len(v) {
		return
	}
	copy(b, v)
	for n := len(v); n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

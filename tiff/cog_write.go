package tiff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rasterflow/rasterflow/internal/atomicfile"
)

// ErrClosed is returned by a COGWriter used after Close or Abort.
var ErrClosed = errors.New("tiff: writer closed")

// COGWriter streams a raster into a Cloud Optimized GeoTIFF with GDAL's COG
// layout. Windows may arrive in any order and from several goroutines; each
// pixel must be written exactly once. A tile is compressed and spooled to a
// temporary file as soon as all its pixels have arrived, and reduced into
// the next overview level, so memory holds only incomplete tiles. Close
// assembles the file; until then nothing exists at the output path.
type COGWriter struct {
	opt    WriteOptions
	path   string
	pix    int // bytes per pixel (all bands)
	enc    tileEncoder
	levels []*wlevel

	spool     *os.File
	spoolMu   sync.Mutex
	spoolSize int64

	mu    sync.Mutex // guards err and state
	err   error      // first error, sticky
	state int        // 0 open, 1 closed or aborted

	tilePool sync.Pool // *[]byte of one full tile
	outPool  sync.Pool // *bytes.Buffer for compressed tiles
}

// wlevel is one pyramid level: 0 is full resolution.
type wlevel struct {
	index  int
	w, h   int
	nx, ny int // tiles across and down
	// xw, yw map each pixel of the level to its source window in the
	// previous level (nil for level 0).
	xw, yw []srcWin
	// halving is set when the previous level is exactly twice as large:
	// source tiles then map onto whole destination pixels, and are reduced
	// as they arrive instead of being gathered.
	halving bool

	mu      sync.Mutex
	pending map[int]*ptile
	done    []bool
	nDone   int
	offs    []int64 // tile offsets in the spool
	sizes   []int64 // tile sizes
}

// ptile is a tile whose source pixels are being gathered.
type ptile struct {
	mu sync.Mutex
	// The region tracked by filled: the source pixels gathered in buf,
	// in the previous level's (or the image's) coordinates; for a halving
	// level, the tile's own pixels, reduced into buf as sources arrive.
	x0, y0   int
	w, h     int
	stride   int // buffer row length in pixels
	buf      []byte
	filled   []uint64 // one bit per region pixel
	nFilled  int
	complete bool
}

// CreateCOG starts writing a COG to path. Call WriteWindow until every pixel
// is written, then Close (or Abort to give up).
func CreateCOG(path string, opt WriteOptions) (*COGWriter, error) {
	opt, err := opt.normalize()
	if err != nil {
		return nil, err
	}
	enc, err := newTileEncoder(opt.Compression, opt.Level)
	if err != nil {
		return nil, err
	}
	dir := opt.TempDir
	if dir == "" {
		dir = filepath.Dir(path)
	}
	spool, err := os.CreateTemp(dir, filepath.Base(path)+".spool-*")
	if err != nil {
		return nil, fmt.Errorf("tiff: creating spool file: %w", err)
	}
	w := &COGWriter{opt: opt, path: path, pix: opt.Bands * opt.DType.Size(), enc: enc, spool: spool}
	sizes := overviewSizes(opt)
	avg := opt.Resampling == "average"
	for k, s := range sizes {
		l := &wlevel{index: k, w: s[0], h: s[1], pending: map[int]*ptile{}}
		l.nx = (l.w + opt.BlockSize - 1) / opt.BlockSize
		l.ny = (l.h + opt.BlockSize - 1) / opt.BlockSize
		n := l.nx * l.ny
		l.done, l.offs, l.sizes = make([]bool, n), make([]int64, n), make([]int64, n)
		if k > 0 {
			l.xw = axisWindows(sizes[k-1][0], l.w, avg)
			l.yw = axisWindows(sizes[k-1][1], l.h, avg)
			l.halving = sizes[k-1][0] == 2*l.w && sizes[k-1][1] == 2*l.h
		}
		w.levels = append(w.levels, l)
	}
	return w, nil
}

// Levels returns the number of pyramid levels (1 + overviews).
func (w *COGWriter) Levels() int { return len(w.levels) }

// fail records the first error.
func (w *COGWriter) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *COGWriter) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != 0 {
		return ErrClosed
	}
	return w.err
}

// pixelSource copies n chunky pixels starting at (x, y) into dst.
type pixelSource interface {
	row(dst []byte, x, y, n int)
}

// planarSource is a caller's window: one little-endian buffer per band.
type planarSource struct {
	x0, y0, w int
	bands     [][]byte
	size      int
}

func (p planarSource) row(dst []byte, x, y, n int) {
	spp, size := len(p.bands), p.size
	off := ((y-p.y0)*p.w + (x - p.x0)) * size
	if spp == 1 {
		copy(dst[:n*size], p.bands[0][off:])
		return
	}
	pix := spp * size
	for b, band := range p.bands {
		s := band[off : off+n*size]
		d := dst[b*size:]
		switch size {
		case 1:
			for i := 0; i < n; i++ {
				d[i*pix] = s[i]
			}
		case 2:
			for i := 0; i < n; i++ {
				d[i*pix], d[i*pix+1] = s[2*i], s[2*i+1]
			}
		default:
			for i := 0; i < n; i++ {
				copy(d[i*pix:i*pix+size], s[i*size:])
			}
		}
	}
}

// chunkySource is a finished tile handed to the next level.
type chunkySource struct {
	x0, y0, stride, pix int
	buf                 []byte
}

func (c chunkySource) row(dst []byte, x, y, n int) {
	off := ((y-c.y0)*c.stride + (x - c.x0)) * c.pix
	copy(dst[:n*c.pix], c.buf[off:])
}

// WriteWindow writes the window of width x height pixels at (x, y): one
// little-endian buffer of width*height samples per band. It is safe for
// concurrent use; windows must not overlap.
func (w *COGWriter) WriteWindow(x, y, width, height int, bands [][]byte) error {
	if err := w.check(); err != nil {
		return err
	}
	o := w.opt
	if width <= 0 || height <= 0 || x < 0 || y < 0 || x > o.Width-width || y > o.Height-height {
		return fmt.Errorf("tiff: window %dx%d at (%d,%d) outside the %dx%d raster", width, height, x, y, o.Width, o.Height)
	}
	if len(bands) != o.Bands {
		return fmt.Errorf("tiff: window has %d bands, want %d", len(bands), o.Bands)
	}
	want := width * height * o.DType.Size()
	for i, b := range bands {
		if len(b) != want {
			return fmt.Errorf("tiff: band %d buffer has %d bytes, want %d", i, len(b), want)
		}
	}
	src := planarSource{x0: x, y0: y, w: width, bands: bands, size: o.DType.Size()}
	if err := w.feed(w.levels[0], x, y, x+width, y+height, src); err != nil {
		return w.fail(err)
	}
	return nil
}

// tileRange returns the tiles [t0, t1) of a level whose source spans
// intersect [a, b) along one axis.
func (w *COGWriter) tileRange(ws []srcWin, n, a, b int) (int, int) {
	bs := w.opt.BlockSize
	if ws == nil {
		return a / bs, (b + bs - 1) / bs
	}
	t0, t1 := n, 0
	// Spans grow with the tile index; a tile covers about 2 blocks of
	// the previous level, so start scanning near a/(2*bs).
	for t := max(a/(2*bs)-1, 0); t < n; t++ {
		s, e := span(ws, t*bs, min((t+1)*bs, len(ws)))
		if s >= b {
			break
		}
		if e > a {
			t0, t1 = min(t0, t), t+1
		}
	}
	return t0, t1
}

// region returns the source region of tile (tx, ty) of a level.
func (w *COGWriter) region(l *wlevel, tx, ty int) (x0, y0, x1, y1 int) {
	bs := w.opt.BlockSize
	cx0, cy0 := tx*bs, ty*bs
	cx1, cy1 := min(cx0+bs, l.w), min(cy0+bs, l.h)
	if l.xw == nil {
		return cx0, cy0, cx1, cy1
	}
	x0, x1 = span(l.xw, cx0, cx1)
	y0, y1 = span(l.yw, cy0, cy1)
	return
}

// feed copies the source pixels [x0,x1)x[y0,y1) (in the coordinates of the
// level's source) into every tile of the level that needs them, and
// finishes the tiles that become complete.
func (w *COGWriter) feed(l *wlevel, x0, y0, x1, y1 int, src pixelSource) error {
	tx0, tx1 := w.tileRange(l.xw, l.nx, x0, x1)
	ty0, ty1 := w.tileRange(l.yw, l.ny, y0, y1)
	for ty := ty0; ty < ty1; ty++ {
		for tx := tx0; tx < tx1; tx++ {
			t, err := w.pendingTile(l, tx, ty)
			if err != nil {
				return err
			}
			var complete bool
			if l.halving {
				complete, err = w.reduce(l, t, x0, y0, x1, y1, src)
			} else {
				complete, err = w.fill(t, x0, y0, x1, y1, src)
			}
			if err != nil {
				return fmt.Errorf("tiff: level %d tile (%d,%d): %w", l.index, tx, ty, err)
			}
			if complete {
				if err := w.finish(l, tx, ty, t); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var errOverlap = errors.New("pixels written twice (overlapping windows)")

// pendingTile returns the tile being gathered, creating it on first use.
func (w *COGWriter) pendingTile(l *wlevel, tx, ty int) (*ptile, error) {
	i := ty*l.nx + tx
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done[i] {
		return nil, fmt.Errorf("tiff: level %d tile (%d,%d): %w", l.index, tx, ty, errOverlap)
	}
	if t := l.pending[i]; t != nil {
		return t, nil
	}
	x0, y0, x1, y1 := w.region(l, tx, ty)
	if l.halving {
		bs := w.opt.BlockSize
		x0, y0, x1, y1 = tx*bs, ty*bs, min((tx+1)*bs, l.w), min((ty+1)*bs, l.h)
	}
	t := &ptile{x0: x0, y0: y0, w: x1 - x0, h: y1 - y0}
	if l.index == 0 || l.halving {
		// Full resolution gathers, and halving levels reduce, straight
		// into the tile buffer.
		t.stride = w.opt.BlockSize
		t.buf = w.getTile()
	} else {
		t.stride = t.w
		t.buf = make([]byte, t.w*t.h*w.pix)
	}
	t.filled = make([]uint64, (t.w*t.h+63)/64)
	l.pending[i] = t
	return t, nil
}

func (w *COGWriter) getTile() []byte {
	if p, _ := w.tilePool.Get().(*[]byte); p != nil {
		clear(*p)
		return *p
	}
	return make([]byte, w.opt.BlockSize*w.opt.BlockSize*w.pix)
}

func (w *COGWriter) putTile(b []byte) { w.tilePool.Put(&b) }

// fill copies the part of [x0,x1)x[y0,y1) inside the tile's region and
// reports whether the tile is now complete.
func (w *COGWriter) fill(t *ptile, x0, y0, x1, y1 int, src pixelSource) (bool, error) {
	ix0, iy0 := max(x0, t.x0), max(y0, t.y0)
	ix1, iy1 := min(x1, t.x0+t.w), min(y1, t.y0+t.h)
	if ix0 >= ix1 || iy0 >= iy1 {
		return false, nil
	}
	n := ix1 - ix0
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.complete {
		return false, errOverlap
	}
	for y := iy0; y < iy1; y++ {
		if !setBits(t.filled, (y-t.y0)*t.w+ix0-t.x0, n) {
			return false, errOverlap
		}
		off := ((y-t.y0)*t.stride + ix0 - t.x0) * w.pix
		src.row(t.buf[off:off+n*w.pix], ix0, y, n)
	}
	t.nFilled += n * (iy1 - iy0)
	if t.nFilled == t.w*t.h {
		t.complete = true
		return true, nil
	}
	return false, nil
}

// reduce resamples a source tile [x0,x1)x[y0,y1) of the previous level,
// twice as large, into the destination pixels [x0/2,x1/2)x[y0/2,y1/2) of a
// halving level's tile, and reports whether the tile is now complete.
func (w *COGWriter) reduce(l *wlevel, t *ptile, x0, y0, x1, y1 int, src pixelSource) (bool, error) {
	c, ok := src.(chunkySource)
	if !ok || x0%2 != 0 || y0%2 != 0 || x1%2 != 0 || y1%2 != 0 {
		return false, errors.New("internal error: unaligned source for a halving level")
	}
	dx0, dy0 := max(x0/2, t.x0), max(y0/2, t.y0)
	dx1, dy1 := min(x1/2, t.x0+t.w), min(y1/2, t.y0+t.h)
	if dx0 >= dx1 || dy0 >= dy1 {
		return false, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.complete {
		return false, errOverlap
	}
	for y := dy0; y < dy1; y++ {
		if !setBits(t.filled, (y-t.y0)*t.w+dx0-t.x0, dx1-dx0) {
			return false, errOverlap
		}
	}
	off := ((dy0-t.y0)*t.stride + dx0 - t.x0) * w.pix
	w.resample(resampleJob{src: c.buf, srcX0: c.x0, srcY0: c.y0, srcStride: c.stride,
		dst: t.buf[off:], dstStride: t.stride, xw: l.xw[dx0:dx1], yw: l.yw[dy0:dy1],
		spp: w.opt.Bands, size: w.opt.DType.Size()})
	t.nFilled += (dx1 - dx0) * (dy1 - dy0)
	if t.nFilled == t.w*t.h {
		t.complete = true
		return true, nil
	}
	return false, nil
}

func (w *COGWriter) resample(j resampleJob) {
	if w.opt.Resampling == "average" {
		j.average(w.opt.DType, w.opt.Nodata)
	} else {
		j.nearest()
	}
}

// setBits sets bits [start, start+n) and reports false, setting nothing
// more, if one was already set.
func setBits(b []uint64, start, n int) bool {
	for n > 0 {
		wi, bi := start/64, start%64
		k := min(64-bi, n)
		mask := uint64(math.MaxUint64)
		if k < 64 {
			mask = (1<<uint(k) - 1) << uint(bi)
		}
		if b[wi]&mask != 0 {
			return false
		}
		b[wi] |= mask
		start += k
		n -= k
	}
	return true
}

// finish turns a complete pending tile into the level's tile, feeds it to
// the next level, then compresses and spools it.
func (w *COGWriter) finish(l *wlevel, tx, ty int, t *ptile) error {
	i := ty*l.nx + tx
	l.mu.Lock()
	delete(l.pending, i)
	l.done[i] = true
	l.nDone++
	l.mu.Unlock()

	bs := w.opt.BlockSize
	tile := t.buf
	cx0, cy0 := tx*bs, ty*bs
	cw, ch := min(bs, l.w-cx0), min(bs, l.h-cy0)
	if l.index > 0 && !l.halving {
		tile = w.getTile()
		w.resample(resampleJob{src: t.buf, srcX0: t.x0, srcY0: t.y0, srcStride: t.stride,
			dst: tile, dstStride: bs, xw: l.xw[cx0 : cx0+cw], yw: l.yw[cy0 : cy0+ch],
			spp: w.opt.Bands, size: w.opt.DType.Size()})
	}
	t.buf, t.filled = nil, nil
	if l.index+1 < len(w.levels) {
		next := w.levels[l.index+1]
		src := chunkySource{x0: cx0, y0: cy0, stride: bs, pix: w.pix, buf: tile}
		if err := w.feed(next, cx0, cy0, cx0+cw, cy0+ch, src); err != nil {
			return err
		}
	}
	err := w.spoolTile(l, i, tile)
	w.putTile(tile)
	return err
}

// spoolTile applies the predictor, compresses and appends the tile to the
// spool file.
func (w *COGWriter) spoolTile(l *wlevel, i int, tile []byte) error {
	o := w.opt
	var scratch []byte
	if o.Predictor == PredictorFloatingPoint {
		scratch = make([]byte, o.BlockSize*w.pix)
	}
	encodePredictor(tile, o.Predictor, o.BlockSize, o.Bands, o.DType.Size(), scratch)
	out, _ := w.outPool.Get().(*bytes.Buffer)
	if out == nil {
		out = new(bytes.Buffer)
	}
	defer w.outPool.Put(out)
	out.Reset()
	if err := w.enc.encode(out, tile); err != nil {
		return err
	}
	w.spoolMu.Lock()
	off := w.spoolSize
	w.spoolSize += int64(out.Len())
	w.spoolMu.Unlock()
	if _, err := w.spool.WriteAt(out.Bytes(), off); err != nil {
		return fmt.Errorf("tiff: writing spool: %w", err)
	}
	l.mu.Lock()
	l.offs[i], l.sizes[i] = off, int64(out.Len())
	l.mu.Unlock()
	return nil
}

// Abort discards everything written: no file is left at the output path.
func (w *COGWriter) Abort() error {
	w.mu.Lock()
	if w.state != 0 {
		w.mu.Unlock()
		return nil
	}
	w.state = 1
	w.mu.Unlock()
	return w.removeSpool()
}

func (w *COGWriter) removeSpool() error {
	name := w.spool.Name()
	err1 := w.spool.Close()
	err2 := os.Remove(name)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("tiff: removing spool: %w", err)
	}
	return nil
}

// Close writes the COG: it fails, leaving no file at the output path, if
// some pixels were never written or a write failed. It must be called after
// every WriteWindow has returned.
func (w *COGWriter) Close() error {
	w.mu.Lock()
	if w.state != 0 {
		w.mu.Unlock()
		return ErrClosed
	}
	w.state = 1
	err := w.err
	w.mu.Unlock()
	if err == nil {
		l0 := w.levels[0]
		l0.mu.Lock()
		missing := len(l0.done) - l0.nDone
		l0.mu.Unlock()
		if missing > 0 {
			err = fmt.Errorf("tiff: %d of %d full-resolution tiles are incomplete", missing, len(l0.done))
		}
	}
	if err == nil {
		err = w.assemble()
	}
	return errors.Join(err, w.removeSpool())
}

// layout is the position of every part of the output file.
type layout struct {
	big      bool
	ifdOffs  []int64 // one per level
	ifds     [][]field
	dataOffs [][]uint64 // tile data offsets (after the leader), per level
	size     int64      // file size
}

const (
	leaderSize  = 4
	trailerSize = 4
)

// plan computes the file layout: header, ghost header, IFDs of levels 0..n
// (each followed by its values), then tiles from the smallest overview to
// full resolution, each in row-major order with a 4-byte size leader and a
// 4-byte trailer repeating the tile's last 4 bytes.
func (w *COGWriter) plan(big bool) layout {
	ly := layout{big: big}
	headerSize := int64(8)
	if big {
		headerSize = 16
	}
	off := headerSize + int64(len(ghostHeader()))
	off += off & 1
	n := len(w.levels)
	ly.ifds = make([][]field, n)
	ly.dataOffs = make([][]uint64, n)
	for k, l := range w.levels {
		ly.dataOffs[k] = make([]uint64, len(l.sizes))
		ly.ifds[k] = w.ifdFields(k, big, ly.dataOffs[k])
		ly.ifdOffs = append(ly.ifdOffs, off)
		off += ifdSize(ly.ifds[k], big)
	}
	for k := n - 1; k >= 0; k-- {
		for i, s := range w.levels[k].sizes {
			ly.dataOffs[k][i] = uint64(off + leaderSize)
			off += leaderSize + s + trailerSize
		}
	}
	// Rebuild the fields with the final offsets.
	for k := range w.levels {
		ly.ifds[k] = w.ifdFields(k, big, ly.dataOffs[k])
	}
	ly.size = off
	return ly
}

func (w *COGWriter) ifdFields(k int, big bool, offs []uint64) []field {
	l := w.levels[k]
	fs := commonFields(w.opt, l.w, l.h)
	counts := make([]uint64, len(l.sizes))
	for i, s := range l.sizes {
		counts[i] = uint64(s)
	}
	fs = append(fs, offsetsField(tTileOffsets, big, offs), offsetsField(tTileByteCounts, big, counts))
	if k == 0 {
		fs = append(fs, mainFields(w.opt)...)
	} else {
		fs = append(fs, longsField(tNewSubfileType, subfileReducedImage))
	}
	return fs
}

// assemble writes the COG to a temporary file next to the output and
// renames it into place.
func (w *COGWriter) assemble() (err error) {
	var ly layout
	switch w.opt.BigTIFF {
	case "yes":
		ly = w.plan(true)
	case "no":
		if ly = w.plan(false); ly.size > math.MaxUint32 {
			return fmt.Errorf("tiff: output of %d bytes needs BigTIFF", ly.size)
		}
	default:
		if ly = w.plan(false); ly.size > math.MaxUint32 {
			ly = w.plan(true)
		}
	}
	start := time.Now()
	f, err := os.CreateTemp(filepath.Dir(w.path), filepath.Base(w.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("tiff: creating output: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := w.writeFile(bw, ly); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("tiff: writing output: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("tiff: writing output: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tiff: writing output: %w", err)
	}
	if err := os.Rename(f.Name(), w.path); err != nil {
		return fmt.Errorf("tiff: renaming output: %w", err)
	}
	// Temporary files of writers killed before they renamed theirs.
	atomicfile.RemoveStale(w.path, filepath.Base(w.path)+".tmp-", start)
	return nil
}

func (w *COGWriter) writeFile(out io.Writer, ly layout) error {
	le := binary.LittleEndian
	var head []byte
	if ly.big {
		head = le.AppendUint16([]byte(leHeader), versionBig)
		head = le.AppendUint16(head, 8)
		head = le.AppendUint16(head, 0)
		head = le.AppendUint64(head, uint64(ly.ifdOffs[0]))
	} else {
		head = le.AppendUint16([]byte(leHeader), versionClassic)
		head = le.AppendUint32(head, uint32(ly.ifdOffs[0]))
	}
	head = append(head, ghostHeader()...)
	if len(head)%2 == 1 {
		head = append(head, 0)
	}
	for k := range w.levels {
		next := uint64(0)
		if k+1 < len(w.levels) {
			next = uint64(ly.ifdOffs[k+1])
		}
		head = appendIFD(head, ly.ifds[k], ly.big, uint64(ly.ifdOffs[k]), next)
	}
	if _, err := out.Write(head); err != nil {
		return fmt.Errorf("tiff: writing output: %w", err)
	}
	var buf []byte
	for k := len(w.levels) - 1; k >= 0; k-- {
		l := w.levels[k]
		for i, s := range l.sizes {
			if cap(buf) < int(s)+leaderSize+trailerSize {
				buf = make([]byte, int(s)+leaderSize+trailerSize)
			}
			b := buf[:int(s)+leaderSize+trailerSize]
			le.PutUint32(b, uint32(s))
			data := b[leaderSize : leaderSize+s]
			if _, err := w.spool.ReadAt(data, l.offs[i]); err != nil {
				return fmt.Errorf("tiff: reading spool: %w", err)
			}
			trailer := b[leaderSize+s:]
			clear(trailer)
			copy(trailer, data[max(0, len(data)-trailerSize):])
			if _, err := out.Write(b); err != nil {
				return fmt.Errorf("tiff: writing output: %w", err)
			}
		}
	}
	return nil
}

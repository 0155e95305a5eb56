package cuda

import (
	"context"
	"fmt"
	"unsafe"
)

// job is work over rows that is streamed through the device in chunks.
// Within a chunk of m rows the device input holds m*inRow bytes and the
// output m*outRow bytes, laid out by fill/kernel/drain as they like (planes
// of m values are natural).
type job struct {
	rows          int
	inRow, outRow int64
	// fill stages rows [lo,hi) of the input into dst (pinned host memory).
	fill func(dst []byte, lo, hi int)
	// kernel enqueues the computation of a chunk of m rows on stream s.
	kernel func(s uintptr, in, out uint64, m int) error
	// drain copies rows [lo,hi) of the result out of src (pinned).
	drain func(src []byte, lo, hi int)
}

// chunkRows picks the rows per chunk: at most opt.ChunkRows and rows, and
// small enough that nslots chunks' input and output buffers fit in avail
// bytes of pool. 0 means not even one row fits.
func chunkRows(rows, maxRows, nslots int, inRow, outRow, avail int64) int {
	need := func(c int) int64 {
		return int64(nslots) * (sizeClass(int64(c)*inRow) + sizeClass(int64(c)*outRow))
	}
	c := min(rows, maxRows)
	if per := int64(nslots) * (inRow + outRow); per > 0 && int64(c) > avail/per {
		c = int(avail / per)
	}
	for c > 0 && need(c) > avail {
		c -= max(1, c/8)
	}
	if c >= 1024 && c < rows {
		c &^= 255 // whole blocks
	}
	return c
}

// run streams j through the device: chunk k uses slot k mod S, so that while
// the GPU copies and computes chunk k on one stream the CPU stages chunk k+1
// for the next, and copies of one stream overlap kernels of the other.
// Buffers come from the pool and go back when done; staging buffers stay.
func (dv *Device) run(ctx context.Context, j job) error {
	if j.rows == 0 {
		return nil
	}
	dv.mu.Lock()
	defer dv.mu.Unlock()
	if dv.closed {
		return ErrClosed
	}
	exit, err := dv.enter()
	if err != nil {
		return err
	}
	defer exit()

	nchunks := func(c int) int { return (j.rows + c - 1) / c }
	nslots := len(dv.slots)
	c := chunkRows(j.rows, dv.opt.ChunkRows, nslots, j.inRow, j.outRow, dv.pool.available())
	if c > 0 && nchunks(c) < nslots {
		nslots = nchunks(c)
	}
	if c == 0 {
		return fmt.Errorf("%w: not even one row (%d bytes) fits in the %d bytes left of the pool", ErrPoolLimit, j.inRow+j.outRow, dv.pool.available())
	}

	api := &dv.drv.api
	type state struct {
		*slot
		in, out buffer
		lo, hi  int // rows in flight; lo == hi: none
	}
	st := make([]state, nslots)
	defer func() {
		for i := range st {
			// Wait before the buffers go back to the pool; an error was
			// already reported by the call that failed.
			api.cuStreamSynchronize(st[i].stream)
			dv.pool.release(st[i].in)
			dv.pool.release(st[i].out)
		}
	}()
	for i := range st {
		st[i].slot = dv.slots[i]
	}
	for i := range st {
		s := &st[i]
		if s.in, err = dv.pool.alloc(int64(c) * j.inRow); err != nil {
			return err
		}
		if s.out, err = dv.pool.alloc(int64(c) * j.outRow); err != nil {
			return err
		}
		if err := dv.growPinned(&s.hostIn, int64(c)*j.inRow); err != nil {
			return err
		}
		if err := dv.growPinned(&s.hostOut, int64(c)*j.outRow); err != nil {
			return err
		}
	}
	// finish waits for the chunk in flight on s and copies its result out.
	finish := func(s *state) error {
		if s.lo == s.hi {
			return nil
		}
		if err := dv.drv.check("cuStreamSynchronize", api.cuStreamSynchronize(s.stream)); err != nil {
			return err
		}
		j.drain(s.hostOut.bytes(int64(s.hi-s.lo)*j.outRow), s.lo, s.hi)
		s.lo = s.hi
		return nil
	}
	for k, lo := 0, 0; lo < j.rows; k, lo = k+1, lo+c {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &st[k%nslots]
		if err := finish(s); err != nil {
			return err
		}
		hi := min(j.rows, lo+c)
		m := hi - lo
		inN, outN := int64(m)*j.inRow, int64(m)*j.outRow
		j.fill(s.hostIn.bytes(inN), lo, hi)
		if err := dv.drv.check("cuMemcpyHtoDAsync_v2", api.cuMemcpyHtoDAsync(s.in.ptr, s.hostIn.ptr, uint64(inN), s.stream)); err != nil {
			return err
		}
		if err := j.kernel(s.stream, s.in.ptr, s.out.ptr, m); err != nil {
			return err
		}
		if err := dv.drv.check("cuMemcpyDtoHAsync_v2", api.cuMemcpyDtoHAsync(s.hostOut.ptr, s.out.ptr, uint64(outN), s.stream)); err != nil {
			return err
		}
		s.lo, s.hi = lo, hi
	}
	for i := range st {
		if err := finish(&st[i]); err != nil {
			return err
		}
	}
	return nil
}

// upload copies host bytes to new pool memory (synchronously, on the first
// stream). The context must be current.
func (dv *Device) upload(b []byte) (buffer, error) {
	buf, err := dv.pool.alloc(int64(len(b)))
	if err != nil {
		return buffer{}, err
	}
	s := dv.slots[0].stream
	api := &dv.drv.api
	err = dv.drv.check("cuMemcpyHtoDAsync_v2", api.cuMemcpyHtoDAsync(buf.ptr, unsafe.Pointer(&b[0]), uint64(len(b)), s))
	if err == nil {
		err = dv.drv.check("cuStreamSynchronize", api.cuStreamSynchronize(s))
	}
	if err != nil {
		api.cuStreamSynchronize(s)
		dv.pool.release(buf)
		return buffer{}, err
	}
	return buf, nil
}

// asBytes views a slice of fixed-size values as bytes.
func asBytes[T uint8 | uint16 | int32 | float32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// fromBytes views bytes as a slice of T (b must be aligned for T).
func fromBytes[T uint8 | uint16 | int32 | float32](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

package cuda

import (
	"fmt"
	"math/bits"
	"sync"
)

// PoolStats describes a device memory pool. Sizes are in bytes, after
// rounding requests up to the pool's size classes.
type PoolStats struct {
	Limit    int64 // most bytes the pool may hold from the driver
	Reserved int64 // bytes held from the driver (in use + cached)
	Used     int64 // bytes handed out and not yet freed
	Peak     int64 // highest Used
	Allocs   int64 // Alloc calls that succeeded
	Frees    int64 // Free calls
	Grows    int64 // allocations from the driver (a cache miss)
	Releases int64 // blocks given back to the driver
}

// backend is where a pool gets device memory from: cuMemAlloc/cuMemFree on
// a device, a fake in tests.
type backend interface {
	alloc(size int64) (uint64, error)
	free(ptr uint64) error
}

// buffer is device memory from a pool.
type buffer struct {
	ptr  uint64
	size int64 // size class, >= the request
}

// pool is a caching allocator: blocks are rounded up to size classes (four
// per power of two, so at most 25% is wasted) and kept on per-class free
// lists when freed. It never holds more than limit bytes from the backend:
// an allocation that would exceed it first gives cached blocks back, then
// fails with ErrPoolLimit. Freed memory must no longer be in use by any
// stream (the callers free only after synchronising).
type pool struct {
	mu    sync.Mutex
	be    backend
	limit int64
	free  map[int64][]uint64
	st    PoolStats
}

func newPool(be backend, limit int64) *pool {
	return &pool{be: be, limit: limit, free: map[int64][]uint64{}, st: PoolStats{Limit: limit}}
}

const minClass = 512

// sizeClass rounds n up to 512 bytes or to a quarter of its power of two.
func sizeClass(n int64) int64 {
	if n <= minClass {
		return minClass
	}
	p := int64(1) << (bits.Len64(uint64(n-1)) - 1) // highest power of two below n
	step := p / 4
	return (n + step - 1) / step * step
}

func (p *pool) alloc(n int64) (buffer, error) {
	if n <= 0 {
		return buffer{}, fmt.Errorf("cuda: pool: allocation of %d bytes", n)
	}
	c := sizeClass(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c > p.limit {
		return buffer{}, fmt.Errorf("%w: %d bytes requested, limit %d", ErrPoolLimit, c, p.limit)
	}
	if l := p.free[c]; len(l) > 0 {
		ptr := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		p.handOut(c)
		return buffer{ptr: ptr, size: c}, nil
	}
	if p.st.Reserved+c > p.limit {
		p.releaseCached(p.st.Reserved + c - p.limit)
		if p.st.Reserved+c > p.limit {
			return buffer{}, fmt.Errorf("%w: %d bytes requested, %d of %d in use", ErrPoolLimit, c, p.st.Used, p.limit)
		}
	}
	ptr, err := p.be.alloc(c)
	if err != nil && IsOutOfMemory(err) && p.st.Reserved > p.st.Used {
		p.releaseCached(p.st.Reserved) // the device is fuller than the limit assumed
		ptr, err = p.be.alloc(c)
	}
	if err != nil {
		return buffer{}, err
	}
	p.st.Grows++
	p.st.Reserved += c
	p.handOut(c)
	return buffer{ptr: ptr, size: c}, nil
}

func (p *pool) handOut(c int64) {
	p.st.Allocs++
	p.st.Used += c
	p.st.Peak = max(p.st.Peak, p.st.Used)
}

// release returns b to the cache. Zero buffers are ignored.
func (p *pool) release(b buffer) {
	if b.size == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free[b.size] = append(p.free[b.size], b.ptr)
	p.st.Used -= b.size
	p.st.Frees++
}

// releaseCached gives at least want bytes of cached blocks back to the
// backend (all if fewer are cached), largest classes first. p.mu is held.
func (p *pool) releaseCached(want int64) {
	for want > 0 {
		var big int64
		for c, l := range p.free {
			if len(l) > 0 && c > big {
				big = c
			}
		}
		if big == 0 {
			return
		}
		l := p.free[big]
		ptr := l[len(l)-1]
		p.free[big] = l[:len(l)-1]
		// A failing free leaves the block lost to the pool but not counted
		// twice; the driver reports such errors on the next call anyway.
		_ = p.be.free(ptr)
		p.st.Reserved -= big
		p.st.Releases++
		want -= big
	}
}

// trim gives every cached block back to the backend.
func (p *pool) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseCached(p.st.Reserved)
}

// available is how many more bytes may be handed out (cached blocks count
// as available: they can be released).
func (p *pool) available() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit - p.st.Used
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

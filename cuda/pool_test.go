package cuda

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// memBackend is a backend over counters, with a capacity.
type memBackend struct {
	next, used, capacity int64
	live                 map[uint64]int64
}

func (m *memBackend) alloc(n int64) (uint64, error) {
	if m.used+n > m.capacity {
		return 0, &Error{Call: "cuMemAlloc_v2", Code: errOutOfMemory, Name: "CUDA_ERROR_OUT_OF_MEMORY"}
	}
	m.next += 1 << 20
	m.live[uint64(m.next)] = n
	m.used += n
	return uint64(m.next), nil
}

func (m *memBackend) free(p uint64) error {
	n, ok := m.live[p]
	if !ok {
		return errors.New("double free")
	}
	delete(m.live, p)
	m.used -= n
	return nil
}

func TestSizeClass(t *testing.T) {
	prev := int64(0)
	for n := int64(1); n < 1<<22; n += 1 + n/64 {
		c := sizeClass(n)
		if c < n || c < prev {
			t.Fatalf("sizeClass(%d) = %d (previous %d)", n, c, prev)
		}
		if n > minClass && float64(c) > 1.25*float64(n)+1 {
			t.Fatalf("sizeClass(%d) = %d wastes more than 25%%", n, c)
		}
		if sizeClass(c) != c {
			t.Fatalf("class %d is not its own class", c)
		}
		prev = c
	}
}

func TestPoolReuse(t *testing.T) {
	be := &memBackend{capacity: 1 << 30, live: map[uint64]int64{}}
	p := newPool(be, 1<<20)
	a, err := p.alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	p.release(a)
	for range 1000 {
		b, err := p.alloc(900) // same class as 1000
		if err != nil {
			t.Fatal(err)
		}
		if b.ptr != a.ptr {
			t.Fatalf("cached block not reused")
		}
		p.release(b)
	}
	st := p.stats()
	want := PoolStats{Limit: 1 << 20, Reserved: sizeClass(1000), Used: 0, Peak: sizeClass(1000), Allocs: 1001, Frees: 1001, Grows: 1}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestPoolLimit(t *testing.T) {
	be := &memBackend{capacity: 1 << 30, live: map[uint64]int64{}}
	p := newPool(be, 10000)
	a, _ := p.alloc(4096)
	b, _ := p.alloc(4096)
	if _, err := p.alloc(4096); !errors.Is(err, ErrPoolLimit) {
		t.Fatalf("third block: %v, want ErrPoolLimit", err)
	}
	p.release(a)
	p.release(b)
	// A different class fits once the cached blocks are given back.
	c, err := p.alloc(8192)
	if err != nil {
		t.Fatal(err)
	}
	if st := p.stats(); st.Reserved != 8192 || st.Releases != 2 || be.used != 8192 {
		t.Fatalf("after releasing the cache: %+v, backend %d", st, be.used)
	}
	p.release(c)
	if _, err := p.alloc(20000); !errors.Is(err, ErrPoolLimit) {
		t.Fatalf("block over the limit: %v", err)
	}
	p.trim()
	if be.used != 0 || len(be.live) != 0 || p.stats().Reserved != 0 {
		t.Fatalf("trim left %d bytes", be.used)
	}
}

// When the device has less memory than the limit assumed, cached blocks are
// given back and the allocation retried.
func TestPoolOutOfMemoryRetry(t *testing.T) {
	be := &memBackend{capacity: 10000, live: map[uint64]int64{}}
	p := newPool(be, 1<<20)
	a, _ := p.alloc(8192)
	p.release(a)
	if _, err := p.alloc(4096); err != nil {
		t.Fatalf("retry after releasing the cache failed: %v", err)
	}
	if _, err := p.alloc(8192); !IsOutOfMemory(err) {
		t.Fatalf("got %v, want the backend's out-of-memory error", err)
	}
}

// Random traffic keeps the accounting consistent with the backend.
func TestPoolRandom(t *testing.T) {
	be := &memBackend{capacity: 1 << 30, live: map[uint64]int64{}}
	p := newPool(be, 1<<22)
	r := rand.New(rand.NewPCG(1, 1))
	var held []buffer
	var used int64
	for range 20000 {
		if len(held) > 0 && r.IntN(2) == 0 {
			i := r.IntN(len(held))
			used -= held[i].size
			p.release(held[i])
			held = append(held[:i], held[i+1:]...)
			continue
		}
		b, err := p.alloc(int64(1 + r.IntN(1<<18)))
		if errors.Is(err, ErrPoolLimit) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		used += b.size
		held = append(held, b)
		st := p.stats()
		if st.Used != used || st.Reserved != be.used || st.Reserved > st.Limit || st.Peak < st.Used {
			t.Fatalf("stats %+v, used %d, backend %d", st, used, be.used)
		}
	}
}

func TestChunkRows(t *testing.T) {
	for _, c := range []struct {
		rows, max, slots int
		in, out, avail   int64
	}{
		{100, 1 << 22, 2, 12, 32, 1 << 30},
		{10_000_000, 1 << 22, 2, 12, 32, 1 << 30},
		{10_000_000, 1 << 22, 2, 12, 32, 1 << 20},
		{10_000_000, 1 << 22, 3, 24, 5, 100_000},
		{5, 1 << 22, 2, 12, 32, 100},
	} {
		got := chunkRows(c.rows, c.max, c.slots, c.in, c.out, c.avail)
		need := int64(c.slots) * (sizeClass(int64(got)*c.in) + sizeClass(int64(got)*c.out))
		switch {
		case got < 0 || got > c.rows || got > c.max:
			t.Errorf("%+v: %d rows", c, got)
		case got > 0 && need > c.avail:
			t.Errorf("%+v: %d rows need %d bytes", c, got, need)
		case got == 0 && int64(c.slots)*2*minClass <= c.avail:
			t.Errorf("%+v: no rows although one fits", c)
		case got < c.rows && got > 1024 && float64(need) < 0.5*float64(c.avail) && got < c.max:
			t.Errorf("%+v: %d rows use only %d bytes", c, got, need)
		}
	}
}

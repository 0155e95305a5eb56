package tiff

import (
	"container/list"
	"sync"
)

// DefaultBlockCache is the most a File's decoded-block cache holds.
// Windows smaller than a tile (512-pixel chunks over 1024-pixel COG tiles,
// or 20 m bands resampled to a 10 m grid) read each tile several times; the
// cache decodes it once. Open sizes it to two rows of tiles (see
// cacheBudget), up to this: a row of 1024² uint16 tiles of a 32768-pixel-wide
// image, so row-major window order hits.
const DefaultBlockCache = 64 << 20

// blockCache keeps decoded blocks, least recently used first out, within a
// byte budget. A block being decoded is shared: later readers wait for the
// first one instead of decoding it again. Cached blocks are never modified.
type blockCache struct {
	mu     sync.Mutex
	budget int64
	size   int64
	lru    *list.List // of *cachedBlock, most recent at the front
	byKey  map[blockKey]*list.Element
}

type blockKey struct {
	im  *Image
	idx int
}

type cachedBlock struct {
	key   blockKey
	ready chan struct{} // closed when data or err is set
	data  []byte
	err   error
}

func newBlockCache(budget int64) *blockCache {
	return &blockCache{budget: budget, lru: list.New(), byKey: map[blockKey]*list.Element{}}
}

// setBudget changes the budget, evicting what no longer fits.
func (c *blockCache) setBudget(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.budget = n
	c.evict()
}

// fits reports whether a decoded block of n bytes may be cached.
func (c *blockCache) fits(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(n) <= c.budget
}

// has reports whether block idx of im is cached or being decoded.
func (c *blockCache) has(im *Image, idx int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byKey[blockKey{im, idx}]
	return ok
}

// get returns block idx of im, calling decode (once, whatever the number of
// concurrent callers) when it is not cached. Blocks larger than the budget
// are decoded and not kept. Errors are not cached.
func (c *blockCache) get(im *Image, idx int, n int, decode func([]byte) error) ([]byte, error) {
	key := blockKey{im, idx}
	c.mu.Lock()
	if int64(n) > c.budget {
		c.mu.Unlock()
		b := make([]byte, n)
		return b, decode(b)
	}
	if e, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(e)
		cb := e.Value.(*cachedBlock)
		c.mu.Unlock()
		<-cb.ready
		if cb.err != nil {
			return nil, cb.err
		}
		return cb.data, nil
	}
	cb := &cachedBlock{key: key, ready: make(chan struct{})}
	c.byKey[key] = c.lru.PushFront(cb)
	c.mu.Unlock()

	b := make([]byte, n)
	err := decode(b)
	c.mu.Lock()
	if err != nil {
		cb.err = err
		if e, ok := c.byKey[key]; ok && e.Value == cb {
			c.lru.Remove(e)
			delete(c.byKey, key)
		}
	} else {
		cb.data = b
		if e, ok := c.byKey[key]; ok && e.Value == cb {
			c.size += int64(n)
			c.evict()
		}
	}
	c.mu.Unlock()
	close(cb.ready)
	return b, err
}

// evict drops the least recently used decoded blocks until the cache fits
// its budget (blocks still being decoded stay). c.mu is held.
func (c *blockCache) evict() {
	for e := c.lru.Back(); e != nil && c.size > c.budget; {
		prev := e.Prev()
		cb := e.Value.(*cachedBlock)
		if cb.data != nil {
			c.lru.Remove(e)
			delete(c.byKey, cb.key)
			c.size -= int64(len(cb.data))
		}
		e = prev
	}
}

// SetBlockCache sets the byte budget of the decoded-block cache (0 turns it
// off); the default is DefaultBlockCache.
func (f *File) SetBlockCache(bytes int64) { f.cache.setBudget(max(bytes, 0)) }

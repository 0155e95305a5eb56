package tiff

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rasterflow/rasterflow/blob"
)

// Concurrent readers of one block decode it once and share the result.
func TestBlockCacheDecodesOnce(t *testing.T) {
	c := newBlockCache(1 << 20)
	im := &Image{}
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.get(im, 3, 100, func(b []byte) error {
				calls.Add(1)
				<-release
				b[0] = 42
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		}()
	}
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("decoded %d times, want 1", calls.Load())
	}
	for _, b := range got {
		if len(b) != 100 || b[0] != 42 {
			t.Fatalf("got %d bytes starting %v", len(b), b[:1])
		}
	}
}

// Least recently used blocks go first; errors are not kept; blocks over the
// budget are decoded but not kept.
func TestBlockCacheEviction(t *testing.T) {
	c := newBlockCache(250)
	im := &Image{}
	decodes := map[int]int{}
	get := func(idx, n int, fail bool) error {
		_, err := c.get(im, idx, n, func(b []byte) error {
			decodes[idx]++
			if fail {
				return errors.New("broken block")
			}
			return nil
		})
		return err
	}
	for _, idx := range []int{1, 2, 1, 3, 1, 2} { // 3 evicts 2 (1 was used more recently)
		if err := get(idx, 100, false); err != nil {
			t.Fatal(err)
		}
	}
	if decodes[1] != 1 || decodes[2] != 2 || decodes[3] != 1 {
		t.Fatalf("decodes %v, want 1:1 2:2 3:1", decodes)
	}
	if c.size > c.budget {
		t.Fatalf("cache holds %d bytes over its budget %d", c.size, c.budget)
	}
	for range 2 {
		if err := get(9, 10, true); err == nil {
			t.Fatal("want the decode error")
		}
	}
	if decodes[9] != 2 {
		t.Fatalf("a failed block was cached (%d decodes)", decodes[9])
	}
	for range 2 {
		if err := get(7, 1000, false); err != nil {
			t.Fatal(err)
		}
	}
	if decodes[7] != 2 || c.has(im, 7) {
		t.Fatalf("a block over the budget was cached (%d decodes)", decodes[7])
	}
	c.setBudget(0)
	if c.size != 0 || c.lru.Len() != 0 {
		t.Fatalf("budget 0 left %d bytes, %d blocks", c.size, c.lru.Len())
	}
}

// readAtCounter counts ReadAt calls on a source.
type readAtCounter struct {
	blob.Source
	calls atomic.Int32
}

func (s *readAtCounter) ReadAt(p []byte, off int64) (int, error) {
	s.calls.Add(1)
	return s.Source.ReadAt(p, off)
}

// Windows a quarter of a tile, read in row-major order, read and decode
// each tile once with the cache Open sized and give the same pixels as
// without a cache.
func TestBlockCacheWindows(t *testing.T) {
	needRealData(t)
	path := filepath.Join(realData, "encodings-real", "riotiler_web.tif")
	read := func(cache int64) ([]byte, int, int) {
		f, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if cache >= 0 {
			f.SetBlockCache(cache)
		} else if b := f.cache.budget; b <= 0 || b > DefaultBlockCache {
			t.Fatalf("default budget %d", b)
		}
		src := &readAtCounter{Source: f.src}
		f.src = src
		im := f.Images[0]
		ww, wh := max(1, im.BlockW/2), max(1, im.BlockH/2)
		var all []byte
		for y := 0; y < im.Height; y += wh {
			for x := 0; x < im.Width; x += ww {
				px, err := im.ReadWindow(context.Background(), x, y, ww, wh, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range px {
					all = append(all, b...)
				}
			}
		}
		return all, int(src.calls.Load()), len(im.offsets)
	}
	cached, reads, blocks := read(-1) // the budget Open chose
	plain, plainReads, _ := read(0)
	if !bytes.Equal(cached, plain) {
		t.Fatal("pixels differ with the block cache")
	}
	if reads != blocks || plainReads < 4*blocks {
		t.Fatalf("%d reads with the cache, %d without, for %d blocks", reads, plainReads, blocks)
	}
}

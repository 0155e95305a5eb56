package tiff

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// memSource is a blob.Source over bytes.
type memSource struct {
	*bytes.Reader
	n int64
}

func newMem(b []byte) *memSource  { return &memSource{bytes.NewReader(b), int64(len(b))} }
func (m *memSource) Size() int64  { return m.n }
func (m *memSource) Name() string { return "mem" }
func (m *memSource) Close() error { return nil }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll opens b and reads a small window of every image, overview and
// mask, returning the first error.
func readAll(b []byte, maxBlock int) error {
	f, err := Open(newMem(b))
	if err != nil {
		return err
	}
	defer f.Close()
	for _, m := range f.Images {
		for _, im := range append([]*Image{m}, m.Overviews...) {
			for _, x := range []*Image{im, im.Mask} {
				if x == nil || x.Bands > 16 || x.BlockW*x.BlockH*x.spb*x.DType.Size() > maxBlock {
					continue
				}
				w, h := min(x.Width, 70), min(x.Height, 50)
				if _, err := x.ReadWindow(context.Background(), x.Width-w, x.Height-h, w, h, nil); err != nil {
					return err
				}
			}
		}
	}
	_ = f.Info()
	return nil
}

// entryPos returns the byte position of tag's entry in the first IFD of a
// classic little-endian TIFF.
func entryPos(t *testing.T, b []byte, tag uint16) int {
	t.Helper()
	le := binary.LittleEndian
	if string(b[:2]) != "II" || le.Uint16(b[2:]) != 42 {
		t.Fatal("fixture is not classic little-endian TIFF")
	}
	off := int(le.Uint32(b[4:]))
	n := int(le.Uint16(b[off:]))
	for i := 0; i < n; i++ {
		p := off + 2 + 12*i
		if le.Uint16(b[p:]) == tag {
			return p
		}
	}
	t.Fatalf("tag %d not found", tag)
	return 0
}

func wantFormatError(t *testing.T, what string, err error) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
		t.Errorf("%s: want FormatError, got %v", what, err)
	}
}

func TestTruncated(t *testing.T) {
	for _, name := range []string{"u16_pixelispoint.tif", "i8_deflate_pred2_tiled.tif", "u16_rotated_transform_bigtiff_bigendian.tif"} {
		b := fixture(t, name)
		if err := readAll(b, 1<<20); err != nil {
			t.Fatalf("%s intact: %v", name, err)
		}
		for n := 0; n < len(b); n += 1 + n/50 {
			if err := readAll(b[:n], 1<<20); err != nil {
				wantFormatError(t, name+" truncated", err)
			}
		}
	}
}

func TestMalformedHeaders(t *testing.T) {
	le := binary.LittleEndian
	base := fixture(t, "i8_deflate_pred2_tiled.tif")
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(base)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"empty":               {},
		"bad magic":           patch(func(b []byte) { b[0] = 'X' }),
		"bad version":         patch(func(b []byte) { le.PutUint16(b[2:], 44) }),
		"IFD offset past end": patch(func(b []byte) { le.PutUint32(b[4:], 1<<30) }),
		"IFD loop": patch(func(b []byte) {
			off := le.Uint32(b[4:])
			n := le.Uint16(b[off:])
			le.PutUint32(b[int(off)+2+12*int(n):], off)
		}),
		"huge tile offsets count": patch(func(b []byte) {
			le.PutUint32(b[entryPos(t, b, tTileOffsets)+4:], 0xffffffff)
		}),
		"huge byte counts count": patch(func(b []byte) {
			le.PutUint32(b[entryPos(t, b, tTileByteCounts)+4:], 0x40000000)
		}),
		"tile offset outside file": patch(func(b []byte) {
			p := entryPos(t, b, tTileOffsets)
			le.PutUint32(b[le.Uint32(b[p+8:]):], 0xfffffff0)
		}),
		"tile count mismatch": patch(func(b []byte) {
			le.PutUint32(b[entryPos(t, b, tImageWidth)+8:], 1<<20)
		}),
		"zero width": patch(func(b []byte) {
			le.PutUint32(b[entryPos(t, b, tImageWidth)+8:], 0)
		}),
		"huge tile": patch(func(b []byte) {
			p := entryPos(t, b, tTileWidth)
			le.PutUint16(b[p+2:], dtLong)
			le.PutUint32(b[p+8:], 1<<24)
			p = entryPos(t, b, tTileLength)
			le.PutUint16(b[p+2:], dtLong)
			le.PutUint32(b[p+8:], 1<<10)
		}),
		"corrupt deflate": patch(func(b []byte) {
			p := entryPos(t, b, tTileOffsets)
			off := le.Uint32(b[le.Uint32(b[p+8:]):])
			copy(b[off+2:], bytes.Repeat([]byte{0xff}, 16))
		}),
	}
	for name, b := range cases {
		wantFormatError(t, name, readAll(b, 1<<20))
	}
}

func TestUnsupportedBitDepth(t *testing.T) {
	b := bytes.Clone(fixture(t, "i8_deflate_pred2_tiled.tif"))
	binary.LittleEndian.PutUint16(b[entryPos(t, b, tBitsPerSample)+8:], 12)
	err := readAll(b, 1<<20)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("12-bit samples: want UnsupportedError, got %v", err)
	}
}

// TestWindowOutside reads windows reaching outside the image: the outside
// is nodata, the inside equals a plain read.
func TestWindowOutside(t *testing.T) {
	f, err := OpenFile(filepath.Join("testdata", "fixtures", "u16_sparse_tiled.tif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im := f.Images[0]
	full, err := im.ReadWindow(context.Background(), 0, 0, im.Width, im.Height, nil)
	if err != nil {
		t.Fatal(err)
	}
	x0, y0, w, h := -5, -3, im.Width+9, im.Height+4
	got, err := im.ReadWindow(context.Background(), x0, y0, w, h, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	want := uint16(*im.Nodata)
	all, win := AsUint16(full[0]), AsUint16(got[0])
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			x, y := x0+c, y0+r
			exp := want
			if x >= 0 && y >= 0 && x < im.Width && y < im.Height {
				exp = all[y*im.Width+x]
			}
			if win[r*w+c] != exp {
				t.Fatalf("pixel (%d,%d) = %d, want %d", x, y, win[r*w+c], exp)
			}
		}
	}
	if _, err := im.ReadWindow(context.Background(), 0, 0, 0, 1, nil); err == nil {
		t.Error("empty window accepted")
	}
	if _, err := im.ReadWindow(context.Background(), 0, 0, 1, 1, []int{1}); err == nil {
		t.Error("band out of range accepted")
	}
}

package tiff

import (
	"bytes"
	stdflate "compress/flate"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/flate"
)

// inflateInputs are payloads of varied compressibility: random bytes, real
// pixels (a fixture file's bytes), long runs and short repeats.
func inflateInputs(t *testing.T) map[string][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	real, err := os.ReadFile(filepath.Join("testdata", "fixtures", "u16_lzw_pred2_pixel_bigendian_striped.tif"))
	if err != nil {
		t.Fatal(err)
	}
	runs := bytes.Repeat([]byte{7}, 100000)
	var pattern []byte
	for i := 0; i < 20000; i++ {
		pattern = append(pattern, byte(i%3), byte(i%251), 'a')
	}
	return map[string][]byte{"random": random, "real": real, "runs": runs, "pattern": pattern, "one": {42}}
}

// TestInflate checks the whole-buffer inflater against streams written by
// two independent Deflate encoders at every level, including stored and
// Huffman-only blocks, and rejects every truncation.
func TestInflate(t *testing.T) {
	var d inflater
	for name, in := range inflateInputs(t) {
		for level := -2; level <= 9; level++ {
			for _, std := range []bool{false, true} {
				var buf bytes.Buffer
				if std {
					w, _ := stdflate.NewWriter(&buf, level)
					w.Write(in)
					w.Close()
				} else {
					w, _ := flate.NewWriter(&buf, level)
					w.Write(in)
					w.Close()
				}
				z := buf.Bytes()
				out := make([]byte, len(in))
				if err := d.inflate(z, out); err != nil || !bytes.Equal(out, in) {
					t.Fatalf("%s level %d std=%v: err %v, equal %v", name, level, std, err, bytes.Equal(out, in))
				}
				for n := 0; n < len(z)-1; n += 1 + n/7 {
					clear(out)
					if err := d.inflate(z[:n], out); err == nil && !bytes.Equal(out, in) {
						t.Fatalf("%s level %d: truncation to %d of %d bytes decoded wrongly without error", name, level, n, len(z))
					}
				}
			}
		}
	}
}

// TestLZWAndPackBitsErrors checks that corrupt streams fail cleanly.
func TestCodecErrors(t *testing.T) {
	var tab lzwTable
	out := make([]byte, 100)
	for _, src := range [][]byte{{}, {0x80}, {0xff, 0xff, 0xff}, {0x80, 0x00, 0x40, 0x20}} {
		if decodeLZW(&tab, src, out) == nil {
			t.Errorf("LZW %x decoded into %d bytes", src, len(out))
		}
	}
	for _, src := range [][]byte{{}, {5, 1}, {0xfe}} {
		if decodePackBits(src, out) == nil {
			t.Errorf("PackBits %x accepted", src)
		}
	}
}

package tiff

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen opens arbitrary bytes and reads a small window of every image:
// it must never panic, and every error must be a FormatError or an
// UnsupportedError. Seeds are the GDAL-written fixtures.
func FuzzOpen(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.tif"))
	more, _ := filepath.Glob(filepath.Join("testdata", "fuzz-regress", "*"))
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := readAll(b, 1<<20)
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error of unexpected kind: %v", err)
		}
	})
}

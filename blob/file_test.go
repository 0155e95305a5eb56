package blob

import (
	"bytes"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(300000, 9)
	path := filepath.Join(dir, "a.tif")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{path, (&url.URL{Scheme: "file", Path: path}).String()} {
		src := mustOpen(t, t.Context(), uri, Options{})
		if src.Size() != int64(len(data)) {
			t.Fatalf("%s: size %d", uri, src.Size())
		}
		ranges := []Range{{0, 10}, {299990, 10}, {1000, 0}, {5, 100000}}
		out, err := ReadRanges(t.Context(), src, ranges)
		if err != nil {
			t.Fatal(err)
		}
		checkRanges(t, data, ranges, out)
		if _, err := ReadRanges(t.Context(), src, []Range{{299990, 11}}); !errors.Is(err, ErrRange) {
			t.Errorf("range past end: %v", err)
		}
	}
	_, err := Open(t.Context(), filepath.Join(dir, "missing.tif"), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := Open(t.Context(), dir, Options{}); err == nil {
		t.Error("opening a directory succeeded")
	}
	if _, err := Open(t.Context(), "ftp://x/y", Options{}); err == nil {
		t.Error("ftp:// accepted")
	}
	info, err := Stat(t.Context(), path, Options{})
	if err != nil || info.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, %v", info, err)
	}

	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b.tif"), []byte("xyz"), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := List(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != path || list[0].Size != 300000 || list[1].Size != 3 {
		t.Errorf("List = %+v", list)
	}
}

func TestBytesSource(t *testing.T) {
	data := randomBytes(1000, 10)
	src := NewBytes("mem", data)
	out, err := ReadRanges(t.Context(), src, []Range{{10, 20}, {990, 10}})
	if err != nil || !bytes.Equal(out[0], data[10:30]) || !bytes.Equal(out[1], data[990:]) || src.Size() != 1000 {
		t.Fatalf("ReadRanges = %v", err)
	}
}

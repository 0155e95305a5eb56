package blob

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// fileSource is a local file; os.File.ReadAt is safe for concurrent use.
type fileSource struct {
	f    *os.File
	size int64
}

func openFile(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("blob: open %s: not a regular file", path)
	}
	return &fileSource{f: f, size: st.Size()}, nil
}

func (s *fileSource) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }
func (s *fileSource) Size() int64                             { return s.size }
func (s *fileSource) Name() string                            { return s.f.Name() }
func (s *fileSource) Close() error                            { return s.f.Close() }

func statFile(path string) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("blob: stat %s: not a regular file", path)
	}
	return Info{Name: path, Size: st.Size(), ModTime: st.ModTime()}, nil
}

func listFiles(ctx context.Context, dir string) ([]Info, error) {
	var out []Info
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, Info{Name: p, Size: st.Size(), ModTime: st.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: list %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// bytesSource is an in-memory Source.
type bytesSource struct {
	*bytes.Reader
	name string
}

// NewBytes returns a Source over b (not copied), named name.
func NewBytes(name string, b []byte) Source {
	return bytesSource{Reader: bytes.NewReader(b), name: name}
}

func (s bytesSource) Name() string { return s.name }
func (s bytesSource) Close() error { return nil }

package tiff

import (
	"fmt"
	"os"

	"github.com/rasterflow/rasterflow/blob"
)

// fileSource is a blob.Source over a local file.
type fileSource struct {
	*os.File
	size int64
}

func (f *fileSource) Size() int64  { return f.size }
func (f *fileSource) Name() string { return f.File.Name() }

var _ blob.Source = (*fileSource)(nil)

// OpenFile opens a local GeoTIFF. Closing the returned File closes the file.
func OpenFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tiff: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("tiff: %w", err)
	}
	f, err := Open(&fileSource{File: fh, size: st.Size()})
	if err != nil {
		fh.Close()
		return nil, err
	}
	return f, nil
}

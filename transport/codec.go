package transport

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/rasterflow/rasterflow/chunk"
)

// ipcOverhead is room for the IPC schema and framing in encode buffers.
const ipcOverhead = 8 << 10

// Encode serialises a chunk as an Arrow IPC stream.
func Encode(c *chunk.Chunk) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(c.Bytes() + ipcOverhead)
	if err := EncodeTo(&buf, c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeTo appends a chunk's Arrow IPC stream to buf.
func EncodeTo(buf *bytes.Buffer, c *chunk.Chunk) error {
	if c.Rec == nil {
		return fmt.Errorf("transport: encode: chunk of scene %q has no record", c.Meta.Scene)
	}
	w := ipc.NewWriter(buf, ipc.WithSchema(c.Rec.Schema()))
	if err := w.Write(c.Rec); err != nil {
		return fmt.Errorf("transport: encode scene %q: %w", c.Meta.Scene, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("transport: encode scene %q: %w", c.Meta.Scene, err)
	}
	return nil
}

// Decode parses a chunk from an Arrow IPC stream. Column buffers point into
// data (which must not change afterwards); mem allocates what cannot (nil:
// Go's allocator).
func Decode(data []byte, mem memory.Allocator) (c *chunk.Chunk, err error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("transport: decode: corrupt Arrow IPC stream: %v", p)
		}
	}()
	r, err := ipc.NewReaderFromMessageReader(newSliceReader(data), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("transport: decode: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("transport: decode: %w", err)
		}
		return nil, fmt.Errorf("transport: decode: stream has no record batch")
	}
	rec := r.RecordBatch()
	meta, err := chunk.DecodeMeta(rec.Schema().Metadata())
	if err != nil {
		return nil, fmt.Errorf("transport: decode: %w", err)
	}
	if int64(meta.Window.Pixels()) != rec.NumRows() {
		return nil, fmt.Errorf("transport: decode: window %v has %d pixels but the batch has %d rows", meta.Window, meta.Window.Pixels(), rec.NumRows())
	}
	rec.Retain()
	return &chunk.Chunk{Meta: meta, Rec: rec}, nil
}

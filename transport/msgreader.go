package transport

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sliceReader reads Arrow IPC messages from a byte slice without copying
// their bodies: record batch buffers point into the slice. A body that is
// not 8-byte aligned is copied once, so typed views of columns stay aligned.
type sliceReader struct {
	data []byte
	off  int
	cur  *ipc.Message
	refs atomic.Int64
}

const ipcContinuation = 0xFFFFFFFF

func newSliceReader(data []byte) *sliceReader {
	r := &sliceReader{data: data}
	r.refs.Store(1)
	return r
}

func (r *sliceReader) take(n int) ([]byte, error) {
	if n < 0 || r.off+n > len(r.data) {
		return nil, fmt.Errorf("transport: truncated Arrow IPC stream (want %d bytes at offset %d of %d)", n, r.off, len(r.data))
	}
	b := r.data[r.off : r.off+n : r.off+n]
	r.off += n
	return b, nil
}

func (r *sliceReader) Message() (*ipc.Message, error) {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.off == len(r.data) {
		return nil, io.EOF
	}
	hdr, err := r.take(4)
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr)
	if n == ipcContinuation {
		if hdr, err = r.take(4); err != nil {
			return nil, err
		}
		n = binary.LittleEndian.Uint32(hdr)
	}
	if n == 0 {
		return nil, io.EOF
	}
	if n < 4 || int(n) > len(r.data)-r.off {
		return nil, fmt.Errorf("transport: bad Arrow IPC metadata length %d", n)
	}
	meta, err := r.take(int(n))
	if err != nil {
		return nil, err
	}
	probe, err := safeMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(nil))
	if err != nil {
		return nil, err
	}
	bodyLen := probe.BodyLen()
	probe.Release()
	if bodyLen < 0 || bodyLen > int64(len(r.data)-r.off) {
		return nil, fmt.Errorf("transport: Arrow IPC body of %d bytes exceeds the %d bytes left", bodyLen, len(r.data)-r.off)
	}
	body, _ := r.take(int(bodyLen))
	if len(body) > 0 && uintptr(unsafe.Pointer(&body[0]))%8 != 0 {
		aligned := make([]byte, len(body))
		copy(aligned, body)
		body = aligned
	}
	msg, err := safeMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(body))
	if err != nil {
		return nil, err
	}
	r.cur = msg
	return msg, nil
}

// safeMessage builds a message, turning a panic on corrupt flatbuffer
// metadata into an error.
func safeMessage(meta, body *memory.Buffer) (m *ipc.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("transport: invalid Arrow IPC metadata: %v", p)
		}
	}()
	m = ipc.NewMessage(meta, body)
	_ = m.Type()
	_ = m.BodyLen()
	return m, nil
}

func (r *sliceReader) Retain() { r.refs.Add(1) }

func (r *sliceReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

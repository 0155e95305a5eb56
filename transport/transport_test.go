package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/tiff"
	"github.com/rasterflow/rasterflow/transport"
)

func testChunk(t testing.TB, side int) *chunk.Chunk {
	t.Helper()
	n := side * side
	b := make([]uint16, n)
	f := make([]float32, n)
	for i := range b {
		b[i] = uint16(i * 7)
		f[i] = float32(i) / 3
	}
	zero, nan := 0.0, math.NaN()
	c, err := chunk.New(chunk.Meta{Scene: "s1", Window: chunk.Window{X: side, Y: 0, W: side, H: side}, GridW: 4 * side, GridH: 4 * side,
		CRS: "EPSG:32633", Transform: [6]float64{500000, 10, 0, 5000000, 0, -10}, Index: 1, Total: 16, Attrs: map[string]string{"date": "2024-06-01"}},
		[]chunk.Col{{Name: "B04", DType: tiff.Uint16, Nodata: &zero, Data: chunk.Bytes(b)}, {Name: "ndvi", DType: tiff.Float32, Nodata: &nan, Data: chunk.Bytes(f)}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodecRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := testChunk(t, 64)
	defer c.Release()
	data, err := transport.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	d, err := transport.Decode(data, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	if fmt.Sprint(d.Meta) != fmt.Sprint(c.Meta) {
		t.Fatalf("meta: got %+v want %+v", d.Meta, c.Meta)
	}
	for _, name := range []string{"B04", "ndvi"} {
		a, _ := c.Column(name)
		b, err := d.Column(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Data, b.Data) || a.DType != b.DType {
			t.Fatalf("column %s differs", name)
		}
		if (a.Nodata == nil) != (b.Nodata == nil) {
			t.Fatalf("column %s nodata lost", name)
		}
	}
	if b, _ := d.Column("ndvi"); !math.IsNaN(*b.Nodata) {
		t.Fatalf("ndvi nodata = %v, want NaN", *b.Nodata)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not arrow"), make([]byte, 100)} {
		if _, err := transport.Decode(data, nil); err == nil {
			t.Fatalf("decoding %q: no error", data)
		}
	}
}

// TestEdgeBackPressure checks that an edge never has more than its window
// of unacknowledged messages in flight.
func TestEdgeBackPressure(t *testing.T) {
	srv, err := transport.StartEmbedded(transport.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect("t")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 100)
	sub, err := nc.ChanSubscribe("rf.t.1.down", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	e, err := transport.NewEdge(nc, "up", "rf.t.1.down", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for range 3 {
		if _, err := e.Send(ctx, "s", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// The fourth send must block until one message is acknowledged.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := e.Send(short, "s", []byte("x")); err == nil {
		t.Fatal("fourth send within a window of 3 did not block")
	}
	m := <-got
	if err := transport.Ack(m); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Send(ctx, "s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if e.InFlight() != 3 {
		t.Fatalf("in flight = %d, want 3", e.InFlight())
	}
}

// BenchmarkHop measures one transport hop: Arrow encode → NATS (embedded,
// in process) → decode, for chunks of 1–8 MB, next to a plain copy of the
// same bytes.
func BenchmarkHop(b *testing.B) {
	for _, mb := range []int{1, 2, 4, 8} {
		// Two columns (uint16 + float32) = 6 bytes a pixel.
		side := int(math.Sqrt(float64(mb<<20) / 6))
		c := testChunk(b, side)
		size := c.Bytes()
		b.Run(fmt.Sprintf("memcopy/%dMB", mb), func(b *testing.B) {
			src := make([]byte, size)
			dst := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				copy(dst, src)
			}
		})
		for _, mode := range []string{"inprocess", "tcp"} {
			b.Run(fmt.Sprintf("nats-%s/%dMB", mode, mb), func(b *testing.B) {
				opt := transport.EmbeddedOptions{}
				if mode == "tcp" {
					opt.Listen = "127.0.0.1:-1"
				}
				srv, err := transport.StartEmbedded(opt)
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Shutdown()
				connect := srv.Connect
				if mode == "tcp" {
					connect = func(name string) (*nats.Conn, error) { return nats.Connect(srv.ClientURL(), nats.Name(name)) }
				}
				pub, _ := connect("pub")
				sub, _ := connect("sub")
				defer pub.Close()
				defer sub.Close()
				msgs := make(chan *nats.Msg, 8)
				s, err := sub.ChanSubscribe("rf.bench.1.down", msgs)
				if err != nil {
					b.Fatal(err)
				}
				s.SetPendingLimits(-1, -1)
				sub.Flush()
				e, err := transport.NewEdge(pub, "up", "rf.bench.1.down", 4)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				var buf bytes.Buffer
				ctx := context.Background()
				done := make(chan error, 1)
				go func() {
					for range b.N {
						m := <-msgs
						d, err := transport.Decode(m.Data, nil)
						if err != nil {
							done <- err
							return
						}
						d.Release()
						transport.Ack(m)
					}
					done <- nil
				}()
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					buf.Reset()
					if err := transport.EncodeTo(&buf, c); err != nil {
						b.Fatal(err)
					}
					if _, err := e.Send(ctx, "s", buf.Bytes()); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
		c.Release()
	}
}

package blob

import (
	"fmt"
	"testing"
)

// BenchmarkReadRangesHTTP reads 64 tiles of 256 KiB per op from a loopback
// httptest server (http.ServeContent): "scattered" tiles are 512 KiB apart
// (one request each, Concurrency in flight), "contiguous" tiles are merged
// into MaxRequest-sized requests.
func BenchmarkReadRangesHTTP(b *testing.B) {
	const tiles, tile = 64, 256 << 10
	data := randomBytes(tiles*3*tile, 15)
	ts := newTestServer(b, data)
	for _, pattern := range []struct {
		name   string
		stride int64
	}{{"scattered", 3 * tile}, {"contiguous", tile}} {
		for _, conc := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/conc=%d", pattern.name, conc), func(b *testing.B) {
				var st Stats
				src := mustOpen(b, b.Context(), ts.url(), Options{Stats: &st, Concurrency: conc})
				ranges := make([]Range, tiles)
				for i := range ranges {
					ranges[i] = Range{int64(i)*pattern.stride + DefaultHeaderBytes, tile}
				}
				b.SetBytes(tiles * tile)
				b.ResetTimer()
				start := st.Requests()
				for b.Loop() {
					if _, err := ReadRanges(b.Context(), src, ranges); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(st.Requests()-start)/float64(b.N), "requests/op")
			})
		}
	}
}

package blob

import "sync/atomic"

// Stats counts the work done by remote sources. One Stats may be shared by
// many sources (set Options.Stats); its methods are safe for concurrent use
// and a nil *Stats counts nothing.
type Stats struct {
	requests, retries, bytes atomic.Int64
}

// Requests is the number of HTTP requests sent, retries included.
func (s *Stats) Requests() int64 { return load(s, func(s *Stats) int64 { return s.requests.Load() }) }

// Retries is the number of requests that were retries of a failed one.
func (s *Stats) Retries() int64 { return load(s, func(s *Stats) int64 { return s.retries.Load() }) }

// BytesFetched is the number of response body bytes read.
func (s *Stats) BytesFetched() int64 { return load(s, func(s *Stats) int64 { return s.bytes.Load() }) }

func load(s *Stats, f func(*Stats) int64) int64 {
	if s == nil {
		return 0
	}
	return f(s)
}

func (s *Stats) addRequest() {
	if s != nil {
		s.requests.Add(1)
	}
}

func (s *Stats) addRetry() {
	if s != nil {
		s.retries.Add(1)
	}
}

func (s *Stats) addBytes(n int64) {
	if s != nil {
		s.bytes.Add(n)
	}
}

package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// retry runs attempt until it succeeds, fails with an error not worth
// retrying, runs out of opt.MaxAttempts or ctx ends. Each attempt gets its
// own opt.RequestTimeout. what names the operation in the final error.
func retry(ctx context.Context, opt *Options, what string, attempt func(ctx context.Context) error) error {
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, opt.RequestTimeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("blob: %s: %w", what, ctx.Err())
		}
		if !retryable(err) {
			return fmt.Errorf("blob: %s: %w", what, err)
		}
		if n >= opt.MaxAttempts {
			return fmt.Errorf("blob: %s: giving up after %d attempts: %w", what, n, err)
		}
		t := time.NewTimer(backoff(opt, n, err))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("blob: %s: %w (while waiting to retry after: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
		opt.Stats.addRetry()
	}
}

// backoff is the wait before retry n (n >= 1): equal jitter over an
// exponentially growing, capped delay, or the server's Retry-After.
func backoff(opt *Options, n int, err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) && he.retryAfter > 0 {
		return min(he.retryAfter, opt.RetryMax)
	}
	d := opt.RetryMax
	if n-1 < 32 {
		d = min(opt.RetryBase<<(n-1), opt.RetryMax)
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// retryable: server overload or failure statuses, timeouts of one attempt
// and dropped connections.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.retryable()
	}
	if errors.Is(err, ErrChanged) || errors.Is(err, ErrNoRange) || errors.Is(err, ErrRange) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After header given in seconds (the HTTP
// date form is ignored).
func parseRetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	s, err := strconv.Atoi(v)
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(min(s, 3600)) * time.Second
}

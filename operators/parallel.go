package operators

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// parallel calls fn(0..n-1) on up to GOMAXPROCS goroutines, in order of
// start, stopping at the first error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

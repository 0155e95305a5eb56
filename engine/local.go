package engine

import (
	"context"

	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/transport"
)

// RunLocal runs p on a NATS server embedded in this process (no TCP port),
// as `rasterflow run` does by default. opt.Conn is ignored.
func RunLocal(ctx context.Context, p *graph.Pipeline, opt Options) error {
	return RunLocalDrain(ctx, ctx, p, opt)
}

// RunLocalDrain is RunLocal with a separate drain context: cancelling it
// stops the sources and lets in-flight work finish (see Run).
func RunLocalDrain(hardCtx, drainCtx context.Context, p *graph.Pipeline, opt Options) error {
	srv, err := transport.StartEmbedded(transport.EmbeddedOptions{})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect("rasterflow-" + p.Name)
	if err != nil {
		return err
	}
	defer nc.Close()
	opt.Conn = nc
	return Run(hardCtx, drainCtx, p, opt)
}

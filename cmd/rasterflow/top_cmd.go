package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/monitor"
)

// cmdTop shows the per-stage metrics that running pipelines publish on
// NATS (rf.metrics.<pipeline>) as a table refreshed in place.
func cmdTop(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("top", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS server URL (`rasterflow run --listen 127.0.0.1:4222` accepts clients)")
	pipeline := fs.String("pipeline", "", "only this pipeline (default: every pipeline)")
	interval := fs.Duration("interval", time.Second, "refresh interval")
	once := fs.Bool("once", false, "print one table once rates are known, then exit")
	wait := fs.Duration("wait", 10*time.Second, "with --once: how long to wait for metrics")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	nc, err := nats.Connect(*url, nats.Name("rasterflow-top"), nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *url, err)
	}
	defer nc.Close()
	subject := monitor.SubjectAll
	if *pipeline != "" {
		subject = monitor.Subject(*pipeline)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !*once {
		fmt.Fprint(stdout, "\033[2J")
	}
	return monitor.Top(ctx, nc, subject, stdout, monitor.TopOptions{Interval: *interval, Once: *once, Wait: *wait})
}

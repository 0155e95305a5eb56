package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
	"github.com/rasterflow/rasterflow/monitor"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/transport"
)

// parseArgs parses flags that may come after the positional FILE.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func loadPipeline(path string, sets setFlag, maxPayload int, stderr io.Writer) (*graph.Pipeline, error) {
	p, err := graph.LoadFile(path, graph.Options{
		Registry:   operators.Registry(),
		Vars:       sets,
		LookupEnv:  os.LookupEnv,
		MaxPayload: maxPayload,
		GPUs:       gpus(),
	})
	if err == nil {
		for _, w := range p.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
	}
	return p, err
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	sets := setFlag{}
	fs.Var(sets, "set", "set a variable VAR=VALUE or a stage setting STAGE.SETTING=VALUE (repeatable)")
	file, err := parsePipelineArgs(fs, args)
	if err != nil {
		return err
	}
	p, err := loadPipeline(file, sets, transport.MaxEmbeddedPayload, stderr)
	if err != nil {
		var ps graph.Problems
		if errors.As(err, &ps) {
			fmt.Fprintln(stderr, ps.Error())
			fmt.Fprintf(stderr, "%d problem(s)\n", len(ps))
			return exitError{1}
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (pipeline %q, %d stages)\n", file, p.Name, len(p.Stages))
	return nil
}

func cmdGraph(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	sets := setFlag{}
	fs.Var(sets, "set", "set a variable or stage setting (repeatable)")
	format := fs.String("format", "dot", "dot or mermaid")
	file, err := parsePipelineArgs(fs, args)
	if err != nil {
		return err
	}
	p, err := loadPipeline(file, sets, transport.MaxEmbeddedPayload, stderr)
	if err != nil {
		return err
	}
	switch *format {
	case "dot":
		return p.WriteDOT(stdout)
	case "mermaid":
		return p.WriteMermaid(stdout)
	}
	return fmt.Errorf("unknown format %q (want dot or mermaid)", *format)
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	sets := setFlag{}
	fs.Var(sets, "set", "set a variable VAR=VALUE or a stage setting STAGE.SETTING=VALUE (repeatable)")
	listen := fs.String("listen", "", "also accept NATS clients on this host:port (default: in-process only)")
	quiet := fs.Bool("quiet", false, "no progress line")
	ui := fs.String("ui", "", "serve the dashboard and /metrics on ADDR (a bare port binds 127.0.0.1)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to FILE (go tool pprof)")
	nf := addNATSFlags(fs)
	file, err := parsePipelineArgs(fs, args)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sess, err := nf.open(file, sets, *listen, "rasterflow-run", stderr)
	if err != nil {
		return err
	}
	defer sess.close()
	p, nc := sess.p, sess.nc

	hardCtx, drainCtx, stopSignals := signalContexts(stderr)
	defer stopSignals()

	reg := &metrics.Registry{}
	host, _ := os.Hostname()
	worker := fmt.Sprintf("%s-%d", host, os.Getpid())
	monCtx, monStop := context.WithCancel(context.Background())
	defer monStop()
	if *ui != "" {
		ms, err := monitor.Serve(monCtx, *ui, reg, p, monitor.Options{Gauges: gpuGauges})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "dashboard %s  metrics %smetrics\n", ms.URL(), ms.URL())
	}
	pubDone := make(chan error, 1)
	go func() { pubDone <- monitor.Publish(monCtx, nc, monitor.Subject(p.Name), worker, reg, p, time.Second) }()
	start := time.Now()
	done := make(chan struct{})
	if !*quiet {
		go progress(stderr, reg, start, done)
	}
	err = engine.Run(hardCtx, drainCtx, p, engine.Options{Conn: nc, RunID: sess.runID, Durable: sess.durable, Metrics: reg, Worker: worker, GPUs: gpus(), Log: func(f string, a ...any) {
		fmt.Fprintf(stderr, f+"\n", a...)
	}})
	close(done)
	monStop()
	<-pubDone
	wall := time.Since(start)
	if !*quiet {
		fmt.Fprint(stderr, "\r\033[K")
	}
	fmt.Fprintf(stdout, "pipeline %s: %s in %s\n", p.Name, status(err, drainCtx), wall.Round(time.Millisecond))
	metrics.WriteSummary(stdout, reg.Snapshot(time.Now()), wall)
	return err
}

func status(err error, drainCtx context.Context) string {
	switch {
	case err != nil:
		return "failed"
	case drainCtx.Err() != nil:
		return "stopped"
	}
	return "done"
}

// progress prints a status line every half second until done: a bar of
// the chunks the sources have read out of those they announced, scenes
// finished, throughput and an estimate of the time left.
func progress(w io.Writer, reg *metrics.Registry, start time.Time, done <-chan struct{}) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fmt.Fprintf(w, "\r\033[K%s", progressLine(reg.Snapshot(time.Now()), time.Since(start)))
		}
	}
}

func progressLine(snaps []metrics.Snapshot, elapsed time.Duration) string {
	var read, expected, scenes, pixels int64
	for _, s := range snaps {
		if s.Expected > 0 {
			read += s.ChunksOut
			expected += s.Expected
			scenes += s.Scenes
			pixels += s.PixelsOut
		}
	}
	const width = 24
	frac := 0.0
	if expected > 0 {
		frac = min(1, float64(read)/float64(expected))
	}
	bar := strings.Repeat("█", int(frac*width)) + strings.Repeat("░", width-int(frac*width))
	line := fmt.Sprintf("%s %3.0f%%  %d/%d chunks  %d scene(s) read  %.1f Mpixel/s  %s", bar, 100*frac, read, expected, scenes,
		float64(pixels)/1e6/max(elapsed.Seconds(), 1e-3), elapsed.Round(100*time.Millisecond))
	if frac > 0.02 && frac < 1 {
		eta := time.Duration(float64(elapsed) * (1 - frac) / frac)
		line += fmt.Sprintf("  ETA %s", eta.Round(time.Second))
	}
	return line
}

// parsePipelineArgs parses flags around exactly one pipeline file.
func parsePipelineArgs(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", exitError{2}
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("want one pipeline file")
	}
	return pos[0], nil
}

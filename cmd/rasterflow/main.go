// Command rasterflow validates, draws and runs raster pipelines, and offers
// the tools around them (info, convert, synth, bench).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type command struct {
	name, args, doc string
	run             func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "FILE [--set K=V]...", "run a pipeline on the embedded NATS server", cmdRun},
		{"worker", "FILE --nats URL [--stages a,b] [--set K=V]...", "serve stages of a durable run (JetStream) in this process", cmdWorker},
		{"validate", "FILE [--set K=V]...", "check a pipeline and report problems with file:line:col", cmdValidate},
		{"graph", "FILE [--format dot|mermaid]", "print the compiled stage graph", cmdGraph},
		{"operators", "[NAME]", "list operators and their settings", cmdOperators},
		{"synth", "OUTDIR [--size N] [--seed S]", "write a synthetic Sentinel-2-like scene as COGs", cmdSynth},
		{"model", "FILE [--json | --onnx OUT]", "describe a model file, dump its trees as JSON or export ONNX-ML", cmdModel},
		{"devices", "", "list CUDA GPUs (name, memory, compute capability)", cmdDevices},
		{"info", "PATH|URL", "describe a GeoTIFF/COG as JSON", cmdInfo},
		{"convert", "IN OUT [--compress deflate|zstd|lzw] [--blocksize N]", "rewrite a TIFF as a COG", cmdConvert},
		{"bench", "forest [--scene DIR] [--samples N] [--trees T] [--depth D]", "measure the forest against the scikit-learn baseline's workflow", cmdBench},
		{"top", "[--nats URL] [--pipeline NAME] [--once]", "live per-stage metrics published by running pipelines", cmdTop},
	}
}

// exitError carries an exit status without extra printing.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if e, ok := err.(exitError); ok {
				return e.code
			}
			fmt.Fprintf(stderr, "rasterflow %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "rasterflow: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rasterflow COMMAND [ARGS]")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %-40s %s\n", c.name, c.args, c.doc)
	}
}

// setFlag collects repeated --set K=V.
type setFlag map[string]string

func (s setFlag) String() string {
	var parts []string
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (s setFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	s[k] = val
	return nil
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/rasterflow/rasterflow/forest"
	"github.com/rasterflow/rasterflow/internal/atomicfile"
)

// cmdModel describes a model file, dumps it as JSON or exports it to ONNX.
func cmdModel(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	dump := fs.Bool("json", false, "dump every tree as JSON")
	onnx := fs.String("onnx", "", "export an ONNX-ML TreeEnsembleClassifier to this file")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitError{2}
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one model file")
	}
	m, err := forest.ReadFile(pos[0])
	if err != nil {
		return err
	}
	switch {
	case *dump:
		return m.WriteJSON(stdout)
	case *onnx != "":
		var buf bytes.Buffer
		if err := m.WriteONNX(&buf); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*onnx, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *onnx)
		return nil
	}
	classes := make([]int, len(m.Classes()))
	for i, c := range m.Classes() {
		classes[i] = int(c)
	}
	summary := map[string]any{
		"features": m.Features(), "classes": classes, "params": m.Params(), "info": m.Info(),
	}
	if met := m.Metrics(); len(met) > 0 {
		summary["metrics"] = met
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(summary)
}

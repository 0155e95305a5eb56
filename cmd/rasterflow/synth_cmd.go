package main

import (
	"fmt"
	"io"
)

func cmdSynth(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("writing scenes as files needs the COG writer (not wired yet)")
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("no benchmarks wired yet")
}

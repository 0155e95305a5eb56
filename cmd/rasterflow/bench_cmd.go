package main

import (
	"fmt"
	"io"
)

func cmdBench(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("no benchmarks wired yet")
}

package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/rasterflow/rasterflow/cuda"
)

// gpus returns this process's GPUs, loading the CUDA driver once. A
// command-line process has one set of devices, shared by validation and
// the engine.
var gpus = sync.OnceValue(func() *cuda.Devices { return cuda.OpenDevices(cuda.DeviceOptions{}) })

func cmdDevices(args []string, stdout, stderr io.Writer) error {
	d := gpus()
	if d.Count() == 0 {
		fmt.Fprintf(stdout, "no CUDA devices: %s\noperators with device: auto run on the CPU\n", d.Reason())
		return nil
	}
	for _, in := range d.Infos() {
		fmt.Fprintf(stdout, "gpu:%d  %s  %.1f GiB  compute %d.%d  %d SMs\n", in.Ordinal, in.Name, float64(in.TotalMemory)/(1<<30), in.ComputeMajor, in.ComputeMinor, in.Multiprocessors)
	}
	return nil
}

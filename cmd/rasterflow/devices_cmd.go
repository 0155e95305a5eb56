package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/monitor"
)

// gpus returns this process's GPUs, loading the CUDA driver once. A
// command-line process has one set of devices, shared by validation and
// the engine.
var gpus = sync.OnceValue(func() *cuda.Devices { return cuda.OpenDevices(cuda.DeviceOptions{}) })

func cmdDevices(args []string, stdout, stderr io.Writer) error {
	d := gpus()
	for _, in := range d.Infos() {
		fmt.Fprintf(stdout, "gpu:%d  %s  %.1f GiB  compute %d.%d  %d SMs\n", in.Ordinal, in.Name, float64(in.TotalMemory)/(1<<30), in.ComputeMajor, in.ComputeMinor, in.Multiprocessors)
	}
	if d.Count() == 0 {
		fmt.Fprintf(stdout, "no usable CUDA devices: %s\noperators with device: auto run on the CPU\n", d.Reason())
	}
	return nil
}

// gpuGauges reports the memory pool of every GPU this process opened, for
// /metrics and the dashboard.
func gpuGauges() []monitor.Gauge {
	var out []monitor.Gauge
	for i, dv := range gpus().Opened() {
		st := dv.PoolStats()
		labels := map[string]string{"device": fmt.Sprintf("gpu:%d", i), "name": dv.Info().Name}
		for _, g := range []struct {
			name, help string
			v          int64
		}{
			{"rasterflow_gpu_pool_reserved_bytes", "Device memory the pool holds from the driver.", st.Reserved},
			{"rasterflow_gpu_pool_used_bytes", "Device memory handed out by the pool.", st.Used},
			{"rasterflow_gpu_pool_peak_bytes", "Highest device memory handed out by the pool.", st.Peak},
			{"rasterflow_gpu_pool_limit_bytes", "Most device memory the pool may hold.", st.Limit},
			{"rasterflow_gpu_pool_allocs", "Allocations served by the pool.", st.Allocs},
		} {
			out = append(out, monitor.Gauge{Name: g.name, Help: g.help, Labels: labels, Value: float64(g.v)})
		}
	}
	return out
}

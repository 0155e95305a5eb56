package graph_test

import (
	"strings"
	"testing"

	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/operators"
)

// TestDeviceWithoutGPU checks that asking for a GPU the machine lacks is a
// validation error at the device's position, while auto and cpu pass.
func TestDeviceWithoutGPU(t *testing.T) {
	gpus := cuda.OpenDevices(cuda.DeviceOptions{})
	if gpus.Count() > 0 {
		t.Skip("this machine has a GPU")
	}
	for _, dev := range []string{"auto", "cpu"} {
		src := "pipeline: p\nstages:\n  - {id: s, op: synth}\n  - {id: i, op: indices, in: s, device: " + dev + "}\n"
		if _, err := graph.Load("test.yaml", []byte(src), graph.Options{Registry: operators.Registry(), GPUs: gpus}); err != nil {
			t.Fatalf("device %s: %v", dev, err)
		}
	}
	src := "pipeline: p\nstages:\n  - {id: s, op: synth}\n  - {id: i, op: indices, in: s, device: gpu}\n"
	_, err := graph.Load("test.yaml", []byte(src), graph.Options{Registry: operators.Registry(), GPUs: gpus})
	if err == nil || !strings.Contains(err.Error(), `test.yaml:4:41: stage "i": device gpu: no GPU available`) {
		t.Fatalf("got %v", err)
	}
}

// TestSetStageKeys checks --set STAGE.device and STAGE.replicas.
func TestSetStageKeys(t *testing.T) {
	src := "pipeline: p\nstages:\n  - {id: s, op: synth}\n  - {id: i, op: indices, in: s}\n"
	p, err := graph.Load("test.yaml", []byte(src), graph.Options{Registry: operators.Registry(), Vars: map[string]string{"i.replicas": "3", "i.device": "cpu"}})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Stage("i"); st.Replicas != 3 || st.Device != "cpu" {
		t.Fatalf("stage i: replicas %d device %q", st.Replicas, st.Device)
	}
	_, err = graph.Load("test.yaml", []byte(src), graph.Options{Registry: operators.Registry(), Vars: map[string]string{"i.replicas": "0"}})
	if err == nil || !strings.Contains(err.Error(), `stage "i": replicas must be an integer from 1 to 1024`) {
		t.Fatalf("got %v", err)
	}
}

package graph

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rasterflow/rasterflow/operators"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// maxPayload is transport.MaxEmbeddedPayload, written out so that graph
// tests do not pull in the NATS server.
const maxPayload = 64 << 20

func testOptions() Options {
	return Options{Registry: operators.Registry(), MaxPayload: maxPayload}
}

// golden compares got with testdata/NAME, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestValidateGolden loads each broken pipeline in testdata/validate and
// compares the problems with NAME.golden.
func TestValidateGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "validate", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test pipelines in testdata/validate")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(filepath.Base(f), data, testOptions())
			if err == nil {
				t.Fatalf("pipeline %q validated; want problems", p.Name)
			}
			if p != nil {
				t.Errorf("Load returned a pipeline along with an error")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T is not Problems: %v", err, err)
			}
			for i := 1; i < len(ps); i++ {
				if ps[i].Line < ps[i-1].Line {
					t.Errorf("problems out of line order: %v before %v", ps[i-1], ps[i])
				}
			}
			golden(t, filepath.Join("validate", name+".golden"), err.Error()+"\n")
		})
	}
}

// TestShippedPipelines checks that every pipeline in pipelines/ validates
// with its default variables.
func TestShippedPipelines(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no pipelines in ../pipelines")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := LoadFile(f, testOptions())
			if err != nil {
				t.Fatalf("%v", err)
			}
			if p.Name == "" || len(p.Stages) == 0 {
				t.Errorf("pipeline %q has %d stages", p.Name, len(p.Stages))
			}
			for _, s := range p.Stages {
				if s.Spec == nil || s.Config == nil {
					t.Errorf("stage %q not compiled (spec %v, config %v)", s.ID, s.Spec != nil, s.Config != nil)
				}
			}
		})
	}
}

// A stage whose consumers all name the columns they read sends only those;
// one consumer reading everything keeps every column.
func TestKeepColumns(t *testing.T) {
	p, err := LoadFile(filepath.Join("..", "pipelines", "lulc-predict.yaml"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"read": nil, "mask": nil, "indices": nil, "predict": {"class"}}
	for id, w := range want {
		if got := p.Stage(id).Keep; !slices.Equal(got, w) {
			t.Errorf("stage %s keeps %v, want %v", id, got, w)
		}
	}
	p, err = LoadFile(filepath.Join("..", "pipelines", "synth-stats.yaml"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Stages {
		for _, k := range s.Keep {
			if _, ok := s.Schema.Lookup(k); !ok {
				t.Errorf("stage %s keeps %s, not in its schema", s.ID, k)
			}
		}
	}
}

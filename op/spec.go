package op

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/tiff"
)

// Kind says where an operator sits in a graph.
type Kind int

const (
	// Source stages have no input and produce chunks.
	Source Kind = iota
	// Transform stages take chunks and emit chunks.
	Transform
	// Sink stages take chunks and emit nothing downstream (though they may
	// still have downstream stages fed by their Finish output).
	Sink
)

func (k Kind) String() string {
	return [...]string{"source", "transform", "sink"}[k]
}

// Type is a setting's type.
type Type int

const (
	String Type = iota
	Int
	Float
	Bool
	Duration
	Strings // a YAML list of strings, or one comma-separated string
	Map     // a YAML mapping of string to string
)

func (t Type) String() string {
	return [...]string{"string", "int", "float", "bool", "duration", "list of strings", "map"}[t]
}

// Field is one setting of an operator.
type Field struct {
	Name     string
	Type     Type
	Doc      string
	Required bool
	// Default is used when the setting is absent (nil: no default).
	Default any
	// Enum, when set, lists the accepted values (for String and Strings).
	Enum []string
	// Min and Max bound Int and Float values when non-nil.
	Min, Max *float64
}

// Bound returns a pointer for Field.Min/Max.
func Bound(v float64) *float64 { return &v }

// Column is a column in a schema.
type Column struct {
	Name  string
	DType tiff.DType
}

// Schema is what flows on an edge, as far as validation can tell.
type Schema struct {
	Columns []Column
	// ChunkPixels is the largest number of pixels in one chunk.
	ChunkPixels int
}

// Has reports whether the schema has a column.
func (s Schema) Has(name string) bool {
	_, ok := s.Lookup(name)
	return ok
}

// Lookup finds a column.
func (s Schema) Lookup(name string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Names lists column names.
func (s Schema) Names() []string {
	out := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = c.Name
	}
	return out
}

// ChunkBytes is the size of the largest chunk's column data.
func (s Schema) ChunkBytes() int {
	n := 0
	for _, c := range s.Columns {
		n += c.DType.Size()
	}
	return n * s.ChunkPixels
}

// With returns a schema with cols added (replacing same-named columns).
func (s Schema) With(cols ...Column) Schema {
	out := Schema{ChunkPixels: s.ChunkPixels}
	for _, c := range s.Columns {
		keep := true
		for _, n := range cols {
			if n.Name == c.Name {
				keep = false
			}
		}
		if keep {
			out.Columns = append(out.Columns, c)
		}
	}
	out.Columns = append(out.Columns, cols...)
	return out
}

// Merge is the schema of a fan-in: columns present in every input, and the
// largest chunk.
func Merge(in []Schema) Schema {
	if len(in) == 0 {
		return Schema{}
	}
	out := Schema{ChunkPixels: in[0].ChunkPixels}
	for _, c := range in[0].Columns {
		all := true
		for _, s := range in[1:] {
			if !s.Has(c.Name) {
				all = false
			}
		}
		if all {
			out.Columns = append(out.Columns, c)
		}
	}
	for _, s := range in[1:] {
		out.ChunkPixels = max(out.ChunkPixels, s.ChunkPixels)
	}
	return out
}

// MissingError reports columns an operator needs but its input lacks.
type MissingError struct {
	Missing []string
	Have    []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("needs column %s but its input has only %s", strings.Join(e.Missing, ","), strings.Join(e.Have, ","))
}

// Require checks that the schema has every named column.
func (s Schema) Require(names ...string) error {
	var miss []string
	for _, n := range names {
		if !s.Has(n) {
			miss = append(miss, n)
		}
	}
	if len(miss) > 0 {
		return &MissingError{Missing: miss, Have: s.Names()}
	}
	return nil
}

// SettingError is an error about one setting; validation reports it at the
// setting's position in the file.
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return fmt.Sprintf("setting %q: %v", e.Setting, e.Err) }
func (e *SettingError) Unwrap() error { return e.Err }

// Errorf makes a SettingError.
func Errorf(setting, format string, args ...any) error {
	return &SettingError{Setting: setting, Err: fmt.Errorf(format, args...)}
}

// Env is what the engine gives an operator when it is built.
type Env struct {
	Pipeline string
	Stage    string
	// Device is the stage's `device` setting ("" when absent).
	Device string
	// Replicas is the number of goroutines that will call Process.
	Replicas int
	// Now is the clock.
	Now func() time.Time
	// Log writes a line for the user (progress, warnings).
	Log func(format string, args ...any)
	// GPUs are this process's GPUs (nil or Count 0: none); operators that
	// take a device pick from them (see DeviceOrdinal).
	GPUs *cuda.Devices
	// SceneFailed, when set, lets a source that reads scene by scene report
	// a scene it cannot read (a corrupt or missing file) and go on with the
	// next: the engine aborts what was sent of the scene downstream,
	// records the failure (the dead-letter subject in durable runs) and
	// fails the run at the end. When nil the source returns the error.
	SceneFailed func(scene string, err error)
}

// DeviceOrdinal resolves a stage's device setting: the GPU ordinal to use,
// or -1 for the CPU. "auto" (or "") takes a GPU when there is one, spreading
// stages over GPUs by `spread`; "gpu" and "gpu:N" fail without that GPU.
func DeviceOrdinal(device string, gpus *cuda.Devices, spread int) (int, error) {
	n := gpus.Count()
	switch {
	case device == "cpu":
		return -1, nil
	case device == "" || device == "auto":
		if n == 0 {
			return -1, nil
		}
		return spread % n, nil
	case device == "gpu":
		if n == 0 {
			return -1, fmt.Errorf("device gpu: no GPU available (%s); use device: auto to fall back to the CPU", gpus.Reason())
		}
		return spread % n, nil
	}
	var k int
	if _, err := fmt.Sscanf(device, "gpu:%d", &k); err != nil {
		return -1, fmt.Errorf("invalid device %q (want auto, cpu, gpu or gpu:N)", device)
	}
	if k < 0 || k >= n {
		reason := ""
		if n == 0 {
			reason = " (" + gpus.Reason() + ")"
		}
		return -1, fmt.Errorf("device %s: this machine has %d GPU(s)%s", device, n, reason)
	}
	return k, nil
}

// Emit hands a chunk downstream; see the package rules.
type Emit func(ctx context.Context, c *chunk.Chunk) error

// Producer is a source operator.
type Producer interface {
	Run(ctx context.Context, emit Emit) error
}

// Processor is a transform or sink operator.
type Processor interface {
	Process(ctx context.Context, c *chunk.Chunk, emit Emit) error
}

// SceneEnder is implemented by processors that act when a scene completes.
type SceneEnder interface {
	EndScene(ctx context.Context, scene string, emit Emit) error
}

// Finisher is implemented by processors that act when all input ended.
type Finisher interface {
	Finish(ctx context.Context, emit Emit) error
}

// Closer is implemented by operators holding resources.
type Closer interface {
	Close() error
}

// Spec is one operator's registration.
type Spec struct {
	Name string
	Kind Kind
	Doc  string
	// Fields are the settings under `with`.
	Fields []Field
	// Device reports whether the `device` setting applies.
	Device bool
	// Flow computes the output schema from the settings and input schemas,
	// or says why the input cannot work. Sources get no input.
	Flow func(cfg *Config, in []Schema) (Schema, error)
	// New builds the operator: a Producer for sources, a Processor otherwise.
	New func(cfg *Config, env Env) (any, error)
	// Needs lists the input columns the operator reads when it reads no
	// others (a sink writing chosen columns). A stage whose consumers all
	// say what they need sends only those columns; nil Needs, or an empty
	// result, means every column.
	Needs func(cfg *Config) []string
}

// Field finds a setting by name.
func (s *Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Registry holds operator specs by name.
type Registry struct {
	specs map[string]*Spec
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{specs: map[string]*Spec{}} }

// Register adds a spec; registering a name twice is a programming error.
func (r *Registry) Register(s *Spec) {
	if _, dup := r.specs[s.Name]; dup {
		panic("op: operator registered twice: " + s.Name)
	}
	r.specs[s.Name] = s
}

// Lookup finds a spec.
func (r *Registry) Lookup(name string) (*Spec, bool) {
	s, ok := r.specs[name]
	return s, ok
}

// Names lists registered operators in order.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.specs))
	for n := range r.specs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

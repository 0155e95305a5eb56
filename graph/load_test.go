package graph

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rasterflow/rasterflow/op"
)

func parseNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// load validates src as test.yaml with vars and env.
func load(t *testing.T, src string, vars, env map[string]string) (*Pipeline, error) {
	t.Helper()
	opt := testOptions()
	opt.Vars = vars
	if env != nil {
		opt.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	return Load("test.yaml", []byte(src), opt)
}

func mustLoad(t *testing.T, src string, vars, env map[string]string) *Pipeline {
	t.Helper()
	p, err := load(t, src, vars, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// wantProblems checks that Load failed with exactly the given messages.
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got error %v, want Problems", err)
	}
	if got := strings.Split(ps.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", ps.Error(), strings.Join(want, "\n"))
	}
}

const varsPipeline = `pipeline: ${name:vars}
stages:
  - id: scene
    op: synth
    with:
      size: ${size:256}
      chunk: ${chunk}
      name: scene-${size:256}
      label: ${label:false}
  - id: ndvi
    op: indices
    in: scene
    with:
      indices: ${indices:[ndvi, ndwi]}
`

func TestInterpolation(t *testing.T) {
	cases := []struct {
		name      string
		vars, env map[string]string
		size      int
		chunk     int
		scene     string
		label     bool
		indices   []string
		pipeline  string
	}{
		{name: "defaults", vars: map[string]string{"chunk": "64"},
			size: 256, chunk: 64, scene: "scene-256", indices: []string{"ndvi", "ndwi"}, pipeline: "vars"},
		{name: "vars", vars: map[string]string{"chunk": "128", "size": "1024", "label": "true", "name": "p", "indices": "[evi]"},
			size: 1024, chunk: 128, scene: "scene-1024", label: true, indices: []string{"evi"}, pipeline: "p"},
		{name: "env", env: map[string]string{"chunk": "32", "size": "512"},
			size: 512, chunk: 32, scene: "scene-512", indices: []string{"ndvi", "ndwi"}, pipeline: "vars"},
		{name: "vars before env", vars: map[string]string{"chunk": "16"}, env: map[string]string{"chunk": "32"},
			size: 256, chunk: 16, scene: "scene-256", indices: []string{"ndvi", "ndwi"}, pipeline: "vars"},
		{name: "comma list", vars: map[string]string{"chunk": "64", "indices": "nbr, ndmi"},
			size: 256, chunk: 64, scene: "scene-256", indices: []string{"nbr", "ndmi"}, pipeline: "vars"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustLoad(t, varsPipeline, c.vars, c.env)
			cfg := p.Stage("scene").Config
			if cfg.Int("size") != c.size || cfg.Int("chunk") != c.chunk || cfg.String("name") != c.scene || cfg.Bool("label") != c.label {
				t.Errorf("scene settings size=%d chunk=%d name=%q label=%v, want %d %d %q %v",
					cfg.Int("size"), cfg.Int("chunk"), cfg.String("name"), cfg.Bool("label"), c.size, c.chunk, c.scene, c.label)
			}
			if got := p.Stage("ndvi").Config.Strings("indices"); !reflect.DeepEqual(got, c.indices) {
				t.Errorf("indices %q, want %q", got, c.indices)
			}
			if p.Name != c.pipeline {
				t.Errorf("pipeline name %q, want %q", p.Name, c.pipeline)
			}
		})
	}
}

// TestBareVarTakesValueType checks that a bare ${n:4} becomes a YAML int
// (and a bare list a list), while text around a variable keeps it a string.
func TestBareVarTakesValueType(t *testing.T) {
	var doc struct {
		N any `yaml:"n"`
		S any `yaml:"s"`
		Q any `yaml:"q"`
		L any `yaml:"l"`
	}
	l := &loader{opt: Options{}, usedVars: map[string]bool{}, unresolved: map[*yaml.Node]bool{}}
	root := parseNode(t, "n: ${n:4}\ns: v${n:4}\nq: \"${n:4}\"\nl: ${l:[a, b]}\n")
	l.interpolate(root)
	if err := root.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.N != 4 {
		t.Errorf("bare ${n:4} decodes as %#v, want int 4", doc.N)
	}
	if doc.S != "v4" {
		t.Errorf("v${n:4} decodes as %#v, want string v4", doc.S)
	}
	if doc.Q != "4" {
		t.Errorf("quoted \"${n:4}\" decodes as %#v, want string 4", doc.Q)
	}
	if !reflect.DeepEqual(doc.L, []any{"a", "b"}) {
		t.Errorf("bare ${l:[a, b]} decodes as %#v, want a list", doc.L)
	}
	if len(l.problems) != 0 {
		t.Errorf("problems: %v", l.problems)
	}
}

func TestSettingOverrides(t *testing.T) {
	src := `pipeline: overrides
stages:
  - id: scene
    op: synth
    with: {size: 256, chunk: 64}
  - id: ndvi
    op: indices
    in: scene
    with: {indices: [evi]}
`
	p := mustLoad(t, src, map[string]string{
		"scene.chunk":  "128",
		"scene.name":   "a: b # not YAML for a string setting",
		"ndvi.indices": "[ndvi,ndwi]",
		"ndvi.scale":   "0.5",
	}, nil)
	sc, ix := p.Stage("scene").Config, p.Stage("ndvi").Config
	if sc.Int("chunk") != 128 || sc.Int("size") != 256 {
		t.Errorf("scene chunk %d size %d, want 128 256", sc.Int("chunk"), sc.Int("size"))
	}
	if got := sc.String("name"); got != "a: b # not YAML for a string setting" {
		t.Errorf("scene name %q", got)
	}
	if got := ix.Strings("indices"); !reflect.DeepEqual(got, []string{"ndvi", "ndwi"}) {
		t.Errorf("indices %q, want [ndvi ndwi]", got)
	}
	if ix.Float("scale") != 0.5 || !ix.IsSet("scale") {
		t.Errorf("scale %v (set %v), want 0.5", ix.Float("scale"), ix.IsSet("scale"))
	}
	// The overridden list feeds data-flow validation.
	if !p.Stage("ndvi").Schema.Has("ndwi") || p.Stage("ndvi").Schema.Has("evi") {
		t.Errorf("ndvi schema %v", p.Stage("ndvi").Schema.Names())
	}
}

func TestOverrideProblems(t *testing.T) {
	src := `pipeline: overrides
stages:
  - id: scene
    op: synth
  - id: ndvi
    op: indices
    in: scene
`
	cases := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"unknown stage", map[string]string{"nosuchstage.x": "1"},
			[]string{`test.yaml: --set nosuchstage.x=1: there is no stage "nosuchstage"`}},
		{"stage typo", map[string]string{"scen.size": "1"},
			[]string{`test.yaml: --set scen.size=1: there is no stage "scen" (did you mean "scene"?)`}},
		{"unknown setting", map[string]string{"scene.sise": "64"},
			[]string{`test.yaml:3:9: --set scene.sise: synth has no setting "sise" (did you mean "size"?)`}},
		{"bad value", map[string]string{"scene.chunk": "huge"},
			[]string{`test.yaml:3:9: stage "scene": setting "chunk": want an integer, not "huge" (given by --set scene.chunk=huge)`}},
		{"bad enum", map[string]string{"ndvi.indices": "[ndvi, ndvj]"},
			[]string{`test.yaml:5:9: stage "ndvi": setting "indices": "ndvj" is not one of evi, mndwi, nbr, ndbi, ndmi, ndvi, ndwi, savi (did you mean "ndvi"?; given by --set ndvi.indices=[ndvi, ndvj])`}},
		{"flow", map[string]string{"scene.bands": "B04"},
			[]string{`test.yaml:7:9: stage "ndvi" (indices): setting "indices": ndvi needs band B08 but the input has only B04,label ("indices" is not set and defaults to [ndvi ndwi]; input from stage "scene")`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, src, c.vars, nil)
			wantProblems(t, err, c.want...)
		})
	}
}

// TestUnusedVariableWarns checks that an unused --set variable is a
// warning (with a hint), not an error: scripts pass one set of variables to
// several pipelines.
func TestUnusedVariableWarns(t *testing.T) {
	src := "pipeline: p\nstages:\n  - {id: scene, op: synth, with: {size: \"${size:64}\"}}\n"
	p, err := load(t, src, map[string]string{"szie": "128"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `test.yaml: --set szie=128: the pipeline has no variable szie (did you mean "size"?)`
	if got := p.Warnings.Error(); got != want {
		t.Fatalf("warnings:\n got %s\nwant %s", got, want)
	}
	src = "pipeline: overrides\nstages:\n  - id: scene\n    op: synth\n"
	p, err = load(t, src, map[string]string{"size": "64"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = `test.yaml: --set size=64: the pipeline has no variable size (to change stage "scene"'s setting use --set scene.size=64)`
	if got := p.Warnings.Error(); got != want {
		t.Fatalf("warnings:\n got %s\nwant %s", got, want)
	}
}

// TestAnchors checks that aliases and merge keys are expanded before
// validation.
func TestAnchors(t *testing.T) {
	src := `pipeline: anchors
common: &common
stages:
  - id: a
    op: synth
    with: &scene {size: 128, chunk: 64, seed: 3}
  - id: b
    op: synth
    with:
      <<: *scene
      seed: 4
  - id: stats
    op: stats
    in: [a, b]
    with: {out: stats.json}
`
	_, err := load(t, src, nil, nil)
	wantProblems(t, err, `test.yaml:2:1: unknown top-level key "common"`)
	src = strings.Replace(src, "common: &common\n", "", 1)
	p := mustLoad(t, src, nil, nil)
	a, b := p.Stage("a").Config, p.Stage("b").Config
	if a.Int("size") != 128 || a.Int("seed") != 3 || b.Int("size") != 128 || b.Int("chunk") != 64 || b.Int("seed") != 4 {
		t.Errorf("a size %d seed %d; b size %d chunk %d seed %d", a.Int("size"), a.Int("seed"), b.Int("size"), b.Int("chunk"), b.Int("seed"))
	}
}

// TestAliasBomb checks that exponentially nested aliases are refused
// quickly.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("pipeline: bomb\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("l" + string(rune('a'+i)) + ": &l" + string(rune('a'+i)) + " [")
		prev := "l0"
		if i > 1 {
			prev = "l" + string(rune('a'+i-1))
		}
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := load(t, b.String(), nil, nil)
	wantProblems(t, err, "test.yaml:1:1: the pipeline expands to more than 100000 YAML nodes through aliases")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestTopologicalOrderAndEdges(t *testing.T) {
	p := mustLoad(t, fanPipeline, nil, nil)
	pos := map[string]int{}
	for i, s := range p.Stages {
		pos[s.ID] = i
	}
	for _, s := range p.Stages {
		for _, in := range s.In {
			if pos[in] >= pos[s.ID] {
				t.Errorf("stage %s comes before its input %s", s.ID, in)
			}
		}
	}
	if got := p.Stage("scene").Out; !reflect.DeepEqual(got, []string{"ndvi", "water"}) {
		t.Errorf("scene.Out = %v", got)
	}
	if got := p.Stage("both").In; !reflect.DeepEqual(got, []string{"ndvi", "water"}) {
		t.Errorf("both.In = %v", got)
	}
	// Fan-in keeps the columns present in every input.
	if got := p.Stage("both").Schema.Names(); !reflect.DeepEqual(got, []string{"B03", "B04", "B08", "label", "savi"}) {
		t.Errorf("fan-in schema %v, want the common columns and savi", got)
	}
	if p.Stage("ndvi").Spec.Kind != op.Transform || p.Stage("ndvi").Replicas != 2 || p.Stage("ndvi").Device != "gpu" {
		t.Errorf("ndvi stage %+v", p.Stage("ndvi"))
	}
}

func TestProblemString(t *testing.T) {
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.yaml", Line: 3, Col: 7, Msg: "bad"}, "f.yaml:3:7: bad"},
		{Problem{File: "f.yaml", Line: 3, Col: 7, Msg: "bad", Hint: "try this"}, "f.yaml:3:7: bad (try this)"},
		{Problem{File: "f.yaml", Msg: "--set x=1: bad"}, "f.yaml: --set x=1: bad"},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	names := []string{"indices", "stats", "synth"}
	for got, want := range map[string]string{
		"indicies": `did you mean "indices"?`,
		"stat":     `did you mean "stats"?`,
		"Synth":    `did you mean "synth"?`,
		"rf.train": "",
		"":         "",
	} {
		if h := didYouMean(got, names); h != want {
			t.Errorf("didYouMean(%q) = %q, want %q", got, h, want)
		}
	}
}

func TestNoRegistry(t *testing.T) {
	if _, err := Load("x.yaml", []byte("pipeline: x\n"), Options{}); err == nil || errors.As(err, new(Problems)) {
		t.Errorf("Load without a registry: %v", err)
	}
}

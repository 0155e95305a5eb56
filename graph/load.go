package graph

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rasterflow/rasterflow/op"
)

// Pipeline is a validated, compiled pipeline.
type Pipeline struct {
	File   string
	Name   string
	Stages []*Stage // in topological order: every stage after its inputs
}

// Stage is one compiled stage.
type Stage struct {
	ID       string
	Op       string
	Spec     *op.Spec
	In       []string
	Out      []string // downstream stage ids
	Replicas int
	Device   string
	Config   *op.Config
	// Schema is what the stage emits, as validation inferred it.
	Schema op.Schema
	Line   int
	// pos records where each setting was written, for flow errors.
	pos map[string]*yaml.Node
}

// Stage finds a stage by id.
func (p *Pipeline) Stage(id string) *Stage {
	for _, s := range p.Stages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Options control loading.
type Options struct {
	Registry *op.Registry
	// Vars are --set VAR=value values; a key STAGE.SETTING overrides a
	// stage's setting instead.
	Vars map[string]string
	// LookupEnv resolves ${VAR} after Vars; nil means no environment.
	LookupEnv func(string) (string, bool)
	// MaxPayload is the transport's message size limit in bytes; 0 skips
	// the check.
	MaxPayload int
}

// payloadOverhead bounds the Arrow IPC framing and metadata of one chunk.
const payloadOverhead = 64 << 10

// LoadFile reads and validates a pipeline file.
func LoadFile(path string, opt Options) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return Load(path, data, opt)
}

type loader struct {
	file     string
	opt      Options
	problems Problems
	usedSets map[string]bool
}

func (l *loader) addf(n *yaml.Node, hint, format string, args ...any) {
	p := Problem{File: l.file, Msg: fmt.Sprintf(format, args...), Hint: hint}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	l.problems = append(l.problems, p)
}

// Load validates a pipeline given as bytes; file names it in messages.
func Load(file string, data []byte, opt Options) (*Pipeline, error) {
	if opt.Registry == nil {
		return nil, fmt.Errorf("graph: no operator registry")
	}
	l := &loader{file: file, opt: opt, usedSets: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, Problems{{File: file, Line: line, Col: 1, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Col: 1, Msg: "empty pipeline file"}}
	}
	root := doc.Content[0]
	l.interpolate(root)
	p := l.pipeline(root)
	for k := range opt.Vars {
		if strings.Contains(k, ".") && !l.usedSets[k] {
			l.addf(nil, "", "--set %s: no stage setting of that name", k)
		}
	}
	if len(l.problems) > 0 {
		sort.SliceStable(l.problems, func(i, j int) bool {
			a, b := l.problems[i], l.problems[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, l.problems
	}
	return p, nil
}

var varRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::([^}]*))?\}`)

// interpolate replaces ${VAR} and ${VAR:default} in every scalar.
func (l *loader) interpolate(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		whole := varRe.FindStringSubmatchIndex(n.Value)
		exact := whole != nil && whole[0] == 0 && whole[1] == len(n.Value)
		n.Value = varRe.ReplaceAllStringFunc(n.Value, func(m string) string {
			sub := varRe.FindStringSubmatch(m)
			name, def := sub[1], sub[2]
			hasDef := strings.Contains(m, ":")
			if v, ok := l.opt.Vars[name]; ok {
				return v
			}
			if l.opt.LookupEnv != nil {
				if v, ok := l.opt.LookupEnv(name); ok {
					return v
				}
			}
			if hasDef {
				return def
			}
			l.addf(n, "set it with --set "+name+"=VALUE or give a default: ${"+name+":VALUE}", "variable %s is not set", name)
			return m
		})
		if exact && n.Tag == "!!str" && n.Style == 0 {
			// A bare ${VAR} takes the type of its value (so ${n:4} is an int).
			n.Tag = ""
		}
		return
	}
	for _, c := range n.Content {
		l.interpolate(c)
	}
}

type mapEntry struct{ key, val *yaml.Node }

func (l *loader) mapping(n *yaml.Node, what string) []mapEntry {
	if n.Kind != yaml.MappingNode {
		l.addf(n, "", "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	out := make([]mapEntry, 0, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			l.addf(k, "", "duplicate key %q in %s", k.Value, what)
		}
		seen[k.Value] = true
		out = append(out, mapEntry{k, n.Content[i+1]})
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

var topKeys = []string{"pipeline", "description", "stages"}
var stageKeys = []string{"id", "op", "in", "with", "replicas", "device"}

type rawStage struct {
	node  *yaml.Node
	id    string
	idN   *yaml.Node
	opN   *yaml.Node
	inN   *yaml.Node
	ins   []string
	inPos []*yaml.Node
	withN *yaml.Node
	st    *Stage
}

func (l *loader) pipeline(root *yaml.Node) *Pipeline {
	p := &Pipeline{File: l.file}
	var stagesN *yaml.Node
	for _, e := range l.mapping(root, "the pipeline file") {
		switch e.key.Value {
		case "pipeline":
			p.Name = e.val.Value
		case "description":
		case "stages":
			stagesN = e.val
		default:
			l.addf(e.key, didYouMean(e.key.Value, topKeys), "unknown top-level key %q", e.key.Value)
		}
	}
	if p.Name == "" {
		l.addf(root, "add `pipeline: NAME`", "the pipeline has no name")
	}
	if stagesN == nil {
		l.addf(root, "", "the pipeline has no stages")
		return p
	}
	if stagesN.Kind != yaml.SequenceNode {
		l.addf(stagesN, "", "stages must be a list, not %s", kindName(stagesN))
		return p
	}
	var raws []*rawStage
	byID := map[string]*rawStage{}
	for _, sn := range stagesN.Content {
		r := l.stage(sn)
		if r == nil {
			continue
		}
		if r.id != "" {
			if prev, dup := byID[r.id]; dup {
				l.addf(r.idN, "", "duplicate stage id %q (first at line %d)", r.id, prev.idN.Line)
				continue
			}
			byID[r.id] = r
		}
		raws = append(raws, r)
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// References.
	for _, r := range raws {
		for i, in := range r.ins {
			up, ok := byID[in]
			if !ok {
				l.addf(r.inPos[i], didYouMean(in, ids), "stage %q: unknown input stage %q", r.id, in)
				continue
			}
			if in == r.id {
				l.addf(r.inPos[i], "", "stage %q reads its own output", r.id)
				continue
			}
			if up.st != nil && r.st != nil {
				up.st.Out = append(up.st.Out, r.id)
			}
		}
	}
	order, cyc := topo(raws, byID)
	for _, r := range cyc {
		l.addf(r.inN, "", "stage %q is part of a cycle", r.id)
	}
	if len(l.problems) > 0 {
		return p
	}
	for _, r := range order {
		p.Stages = append(p.Stages, r.st)
		l.flow(p, r)
	}
	return p
}

func topo(raws []*rawStage, byID map[string]*rawStage) (order, cyclic []*rawStage) {
	indeg := map[*rawStage]int{}
	for _, r := range raws {
		for _, in := range r.ins {
			if _, ok := byID[in]; ok && in != r.id {
				indeg[r]++
			}
		}
	}
	var queue []*rawStage
	for _, r := range raws {
		if indeg[r] == 0 {
			queue = append(queue, r)
		}
	}
	done := map[*rawStage]bool{}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		order = append(order, r)
		done[r] = true
		for _, d := range raws {
			for _, in := range d.ins {
				if in == r.id && d != r {
					indeg[d]--
					if indeg[d] == 0 {
						queue = append(queue, d)
					}
				}
			}
		}
	}
	for _, r := range raws {
		if !done[r] {
			cyclic = append(cyclic, r)
		}
	}
	return order, cyclic
}

var deviceRe = regexp.MustCompile(`^(auto|cpu|gpu|gpu:\d+)$`)

func (l *loader) stage(n *yaml.Node) *rawStage {
	r := &rawStage{node: n}
	entries := l.mapping(n, "a stage")
	if entries == nil {
		return nil
	}
	st := &Stage{Replicas: 1, Line: n.Line}
	var deviceN *yaml.Node
	for _, e := range entries {
		switch e.key.Value {
		case "id":
			r.idN = e.val
			r.id = e.val.Value
		case "op":
			r.opN = e.val
		case "in":
			r.inN = e.val
			switch e.val.Kind {
			case yaml.ScalarNode:
				r.ins, r.inPos = []string{e.val.Value}, []*yaml.Node{e.val}
			case yaml.SequenceNode:
				for _, c := range e.val.Content {
					if c.Kind != yaml.ScalarNode {
						l.addf(c, "", "`in` entries must be stage ids")
						continue
					}
					r.ins = append(r.ins, c.Value)
					r.inPos = append(r.inPos, c)
				}
			default:
				l.addf(e.val, "", "`in` must be a stage id or a list of them")
			}
		case "with":
			r.withN = e.val
		case "replicas":
			v, err := strconv.Atoi(e.val.Value)
			if err != nil || v < 1 || v > 1024 {
				l.addf(e.val, "", "replicas must be an integer from 1 to 1024, not %q", e.val.Value)
			} else {
				st.Replicas = v
			}
		case "device":
			deviceN = e.val
			st.Device = e.val.Value
			if !deviceRe.MatchString(st.Device) {
				l.addf(e.val, "one of auto, cpu, gpu, gpu:N", "invalid device %q", st.Device)
			}
		default:
			l.addf(e.key, didYouMean(e.key.Value, stageKeys), "unknown stage key %q", e.key.Value)
		}
	}
	if r.idN == nil || r.id == "" {
		l.addf(n, "every stage needs `id: NAME`", "stage has no id")
		return nil
	}
	if !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`).MatchString(r.id) {
		l.addf(r.idN, "letters, digits, _ and -, starting with a letter", "invalid stage id %q", r.id)
	}
	st.ID, st.In = r.id, r.ins
	r.st = st
	if r.opN == nil {
		l.addf(n, "", "stage %q has no op", r.id)
		return r
	}
	st.Op = r.opN.Value
	spec, ok := l.opt.Registry.Lookup(st.Op)
	if !ok {
		l.addf(r.opN, didYouMean(st.Op, l.opt.Registry.Names()), "stage %q: unknown operator %q", r.id, st.Op)
		return r
	}
	st.Spec = spec
	switch {
	case spec.Kind == op.Source && len(r.ins) > 0:
		l.addf(r.inN, "", "stage %q: %s is a source and takes no input", r.id, spec.Name)
	case spec.Kind != op.Source && len(r.ins) == 0:
		l.addf(n, "add `in: STAGE`", "stage %q: %s needs an input", r.id, spec.Name)
	}
	if deviceN != nil && !spec.Device {
		l.addf(deviceN, "", "stage %q: %s does not take a device", r.id, spec.Name)
	}
	st.Config = l.settings(r, spec)
	return r
}

// settings parses `with` against the spec.
func (l *loader) settings(r *rawStage, spec *op.Spec) *op.Config {
	vals := map[string]any{}
	given := map[string]*yaml.Node{}
	if r.withN != nil {
		for _, e := range l.mapping(r.withN, "`with`") {
			given[e.key.Value] = e.val
			if _, ok := spec.Field(e.key.Value); !ok {
				names := make([]string, len(spec.Fields))
				for i, f := range spec.Fields {
					names[i] = f.Name
				}
				l.addf(e.key, didYouMean(e.key.Value, names), "stage %q: %s has no setting %q", r.id, spec.Name, e.key.Value)
			}
		}
	}
	for k, v := range l.opt.Vars {
		stage, setting, ok := strings.Cut(k, ".")
		if !ok || stage != r.id {
			continue
		}
		l.usedSets[k] = true
		if _, ok := spec.Field(setting); !ok {
			l.addf(r.idN, "", "--set %s: %s has no setting %q", k, spec.Name, setting)
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) == 0 {
			doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: v}}}
		}
		nn := doc.Content[0]
		nn.Line, nn.Column = r.idN.Line, r.idN.Column
		given[setting] = nn
	}
	ok := true
	for _, f := range spec.Fields {
		n, has := given[f.Name]
		if !has {
			if f.Required {
				l.addf(r.idN, fmt.Sprintf("add `%s:` under `with` (%s)", f.Name, f.Doc), "stage %q: missing required setting %q", r.id, f.Name)
				ok = false
			}
			continue
		}
		v, err := convert(f, n)
		if err != nil {
			l.addf(n, enumHint(f, n), "stage %q: setting %q: %v", r.id, f.Name, err)
			ok = false
			continue
		}
		vals[f.Name] = v
	}
	if !ok {
		return nil
	}
	cfg, err := op.NewConfig(spec, vals)
	if err != nil {
		l.addf(r.idN, "", "stage %q: %v", r.id, err)
		return nil
	}
	r.st.Config = cfg
	r.st.pos = given
	return cfg
}

func enumHint(f op.Field, n *yaml.Node) string {
	if len(f.Enum) == 0 {
		return ""
	}
	if h := didYouMean(n.Value, f.Enum); h != "" {
		return h
	}
	return "one of " + strings.Join(f.Enum, ", ")
}

func convert(f op.Field, n *yaml.Node) (any, error) {
	scalar := func() (string, error) {
		if n.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("want %s, got %s", f.Type, kindName(n))
		}
		return n.Value, nil
	}
	inEnum := func(s string) error {
		if len(f.Enum) == 0 {
			return nil
		}
		for _, e := range f.Enum {
			if e == s {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
	}
	bound := func(v float64) error {
		if f.Min != nil && v < *f.Min {
			return fmt.Errorf("%v is below the minimum %v", v, *f.Min)
		}
		if f.Max != nil && v > *f.Max {
			return fmt.Errorf("%v is above the maximum %v", v, *f.Max)
		}
		return nil
	}
	switch f.Type {
	case op.String:
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		return s, inEnum(s)
	case op.Int:
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", s)
		}
		return v, bound(float64(v))
	case op.Float:
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", s)
		}
		return v, bound(v)
	case op.Bool:
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", s)
		}
		return v, nil
	case op.Duration:
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("want a duration such as 10s, got %q", s)
		}
		return v, nil
	case op.Strings:
		var out []string
		switch n.Kind {
		case yaml.ScalarNode:
			for _, s := range strings.Split(n.Value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if c.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("want a list of strings, got %s in it", kindName(c))
				}
				out = append(out, c.Value)
			}
		default:
			return nil, fmt.Errorf("want a list of strings, got %s", kindName(n))
		}
		for _, s := range out {
			if err := inEnum(s); err != nil {
				return nil, err
			}
		}
		return out, nil
	case op.Map:
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("want a mapping, got %s", kindName(n))
		}
		out := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i+1].Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("want string values, got %s for %q", kindName(n.Content[i+1]), n.Content[i].Value)
			}
			out[n.Content[i].Value] = n.Content[i+1].Value
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown setting type")
}

// flow runs the operator's data-flow check and the transport size check.
func (l *loader) flow(p *Pipeline, r *rawStage) {
	st := r.st
	if st.Spec == nil || st.Config == nil {
		return
	}
	var ins []op.Schema
	for _, in := range st.In {
		up := p.Stage(in)
		if up == nil || up.Spec == nil {
			return
		}
		if up.Spec.Kind == op.Sink && len(up.Schema.Columns) == 0 {
			l.addf(r.inN, "", "stage %q: input %q is a sink with no output", st.ID, in)
			return
		}
		ins = append(ins, up.Schema)
	}
	if st.Spec.Flow == nil {
		if len(ins) > 0 {
			st.Schema = op.Merge(ins)
		}
		return
	}
	out, err := st.Spec.Flow(st.Config, ins)
	if err != nil {
		pos := r.inN
		if pos == nil {
			pos = r.idN
		}
		var se *op.SettingError
		hint := ""
		if errors.As(err, &se) {
			if n := st.pos[se.Setting]; n != nil {
				pos = n
			}
		}
		if len(st.In) > 0 {
			hint = fmt.Sprintf("input from %s", strings.Join(st.In, ","))
		}
		l.addf(pos, hint, "stage %q (%s): %v", st.ID, st.Op, err)
		return
	}
	st.Schema = out
	if l.opt.MaxPayload > 0 && len(out.Columns) > 0 {
		if b := out.ChunkBytes() + payloadOverhead; b > l.opt.MaxPayload {
			l.addf(r.idN, "use smaller chunks in the source stage (its `chunk` setting) or raise the server's max_payload",
				"stage %q: chunks of %d pixels × %d columns are %.1f MB, over the transport's message limit of %.1f MB",
				st.ID, out.ChunkPixels, len(out.Columns), float64(b)/1e6, float64(l.opt.MaxPayload)/1e6)
		}
	}
}

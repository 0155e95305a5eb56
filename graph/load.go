package graph

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rasterflow/rasterflow/cuda"
	"github.com/rasterflow/rasterflow/op"
)

// Pipeline is a validated, compiled pipeline.
type Pipeline struct {
	File   string
	Name   string
	Stages []*Stage // in topological order: every stage after its inputs
	// Warnings are findings that do not stop the pipeline, such as a --set
	// variable the file does not use (scripts often pass one set of
	// variables to several pipelines).
	Warnings Problems
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
	// Keep, when set, are the only columns of Schema that downstream
	// stages read (see op.Spec.Needs): the rest are not sent.
	Keep []string
	Line int
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
	// GPUs, when set, are checked against `device: gpu` / `gpu:N`: asking
	// for a GPU the machine lacks is a validation error.
	GPUs *cuda.Devices
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
	warnings Problems
	// ids lists the stage ids seen, sorted, for hints.
	ids []string
	// stages are the stages with a known operator, in file order.
	stages []*Stage
	// usedVars records the variables the file refers to.
	usedVars map[string]bool
	// usedSets records the --set STAGE.SETTING keys that named a stage.
	usedSets map[string]bool
	// unresolved holds scalars with an unset ${VAR}, already reported.
	unresolved map[*yaml.Node]bool
	// fromSet maps setting nodes made from --set to their key.
	fromSet map[*yaml.Node]string
	// flowFailed records stages whose data-flow check failed.
	flowFailed map[string]bool
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
	l := &loader{file: file, opt: opt, usedSets: map[string]bool{}, usedVars: map[string]bool{},
		unresolved: map[*yaml.Node]bool{}, fromSet: map[*yaml.Node]string{}, flowFailed: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{yamlProblem(file, data, err)}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Col: 1, Msg: "empty pipeline file"}}
	}
	root, ok := resolveAliases(doc.Content[0])
	if !ok {
		return nil, Problems{{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("the pipeline expands to more than %d YAML nodes through aliases", maxNodes)}}
	}
	l.interpolate(root)
	p := l.pipeline(root)
	l.unusedSets()
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
	p.Warnings = l.warnings
	return p, nil
}

// unusedSets reports --set values that neither a ${VAR} nor a stage used.
func (l *loader) unusedSets() {
	if len(l.ids) == 0 {
		return // the file is too broken to tell
	}
	used := make([]string, 0, len(l.usedVars))
	for v := range l.usedVars {
		used = append(used, v)
	}
	sort.Strings(used)
	for _, k := range sortedKeys(l.opt.Vars) {
		stage, _, isSetting := strings.Cut(k, ".")
		switch {
		case l.usedVars[k] || l.usedSets[k]:
		case isSetting:
			l.addf(nil, didYouMean(stage, l.ids), "--set %s=%s: there is no stage %q", k, l.opt.Vars[k], stage)
		default:
			hint := didYouMean(k, used)
			for _, st := range l.stages {
				if _, ok := st.Spec.Field(k); ok && hint == "" {
					hint = fmt.Sprintf("to change stage %q's setting use --set %s.%s=%s", st.ID, st.ID, k, l.opt.Vars[k])
				}
			}
			l.warnings = append(l.warnings, Problem{File: l.file, Hint: hint, Msg: fmt.Sprintf("--set %s=%s: the pipeline has no variable %s", k, l.opt.Vars[k], k)})
		}
	}
}

var varRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::((?:[^{}]|\{[^{}]*\})*))?\}`)

// lookup resolves a variable from Vars, then the environment.
func (l *loader) lookup(name string) (string, bool) {
	if v, ok := l.opt.Vars[name]; ok {
		return v, true
	}
	if l.opt.LookupEnv != nil {
		return l.opt.LookupEnv(name)
	}
	return "", false
}

// interpolate replaces ${VAR} and ${VAR:default} in every scalar.
func (l *loader) interpolate(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		for _, c := range n.Content {
			l.interpolate(c)
		}
		return
	}
	if !strings.Contains(n.Value, "${") {
		return
	}
	whole := varRe.FindStringSubmatchIndex(n.Value)
	exact := whole != nil && whole[0] == 0 && whole[1] == len(n.Value)
	n.Value = varRe.ReplaceAllStringFunc(n.Value, func(m string) string {
		sub := varRe.FindStringSubmatch(m)
		name, def := sub[1], sub[2]
		l.usedVars[name] = true
		if v, ok := l.lookup(name); ok {
			return v
		}
		if strings.Contains(m, ":") {
			return def
		}
		l.unresolved[n] = true
		l.addf(n, "set it with --set "+name+"=VALUE or give a default: ${"+name+":VALUE}", "variable %s is not set", name)
		return m
	})
	if !exact || n.Style != 0 || l.unresolved[n] {
		return
	}
	// A bare ${VAR} takes the type of its value: ${n:4} is an int and
	// ${bands:[B02, B03]} a list.
	n.Tag = ""
	if v := strings.TrimSpace(n.Value); strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(v), &doc) == nil && len(doc.Content) == 1 {
			line, col := n.Line, n.Column
			*n = *doc.Content[0]
			setPos(n, line, col)
		}
	}
}

// setPos places a node made from a value (not the file) at line:col.
func setPos(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setPos(c, line, col)
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
			continue
		}
		seen[k.Value] = true
		out = append(out, mapEntry{k, n.Content[i+1]})
	}
	return out
}

// name returns a scalar's value, reporting other kinds.
func (l *loader) name(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		l.addf(n, "", "%s must be a name, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// isNull reports an empty value (`key:` with nothing after it).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe shows a value in messages: a scalar quoted, else its kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindName(n)
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
	entries := l.mapping(root, "the pipeline file")
	if entries == nil {
		return p
	}
	var stagesN *yaml.Node
	for _, e := range entries {
		switch e.key.Value {
		case "pipeline":
			p.Name, _ = l.name(e.val, "`pipeline`")
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
		l.addf(root, "add `stages:` with a list of stages", "the pipeline has no stages")
		return p
	}
	if stagesN.Kind != yaml.SequenceNode {
		l.addf(stagesN, "each stage starts with `- id: NAME`", "stages must be a list, not %s", kindName(stagesN))
		return p
	}
	if len(stagesN.Content) == 0 {
		l.addf(stagesN, "", "the pipeline has no stages")
		return p
	}
	for _, sn := range stagesN.Content {
		if sn.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(sn.Content); i += 2 {
				if sn.Content[i].Value == "id" && sn.Content[i+1].Kind == yaml.ScalarNode {
					l.ids = append(l.ids, sn.Content[i+1].Value)
				}
			}
		}
	}
	sort.Strings(l.ids)
	var raws []*rawStage
	byID := map[string]*rawStage{}
	for _, sn := range stagesN.Content {
		r := l.stage(sn)
		if r == nil {
			continue
		}
		if prev, dup := byID[r.id]; dup {
			l.addf(r.idN, "", "duplicate stage id %q (first at line %d)", r.id, prev.idN.Line)
			continue
		}
		byID[r.id] = r
		raws = append(raws, r)
	}
	// References.
	for _, r := range raws {
		for i, in := range r.ins {
			up, ok := byID[in]
			switch {
			case !ok:
				l.addf(r.inPos[i], didYouMean(in, l.ids), "stage %q: unknown input stage %q", r.id, in)
			case in == r.id:
				l.addf(r.inPos[i], "", "stage %q reads its own output", r.id)
			case up.st != nil && r.st != nil:
				up.st.Out = append(up.st.Out, r.id)
			}
		}
	}
	order, rest := topo(raws, byID)
	l.cycles(rest)
	if len(l.problems) > 0 {
		return p
	}
	for _, r := range order {
		p.Stages = append(p.Stages, r.st)
		l.flow(p, r)
	}
	if len(l.problems) == 0 {
		for _, st := range p.Stages {
			st.Keep = keep(p, st)
		}
	}
	return p
}

// keep returns the columns of st's output that its consumers read, in
// schema order, when every consumer says what it needs and that is fewer
// than all of them; nil means send every column.
func keep(p *Pipeline, st *Stage) []string {
	if len(st.Out) == 0 || len(st.Schema.Columns) == 0 {
		return nil
	}
	need := map[string]bool{}
	for _, id := range st.Out {
		down := p.Stage(id)
		if down == nil || down.Spec == nil || down.Spec.Needs == nil {
			return nil
		}
		cols := down.Spec.Needs(down.Config)
		if len(cols) == 0 {
			return nil
		}
		for _, c := range cols {
			need[c] = true
		}
	}
	var out []string
	for _, c := range st.Schema.Columns {
		if need[c.Name] {
			out = append(out, c.Name)
		}
	}
	if len(out) == len(st.Schema.Columns) {
		return nil
	}
	return out
}

// topo orders the stages so that each follows its inputs; rest are the
// stages that cannot be ordered (in or behind a cycle).
func topo(raws []*rawStage, byID map[string]*rawStage) (order, rest []*rawStage) {
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
			rest = append(rest, r)
		}
	}
	return order, rest
}

// cycles reports each stage of rest that lies on a cycle, with the
// shortest cycle through it, at the `in` entry that closes the cycle.
// Stages that only depend on a cycle are not reported.
func (l *loader) cycles(rest []*rawStage) {
	in := map[string]*rawStage{}
	for _, r := range rest {
		in[r.id] = r
	}
	for _, r := range rest {
		// Breadth-first search upstream from r, back to r.
		prev := map[string]string{}
		queue := []string{r.id}
		found := ""
	search:
		for len(queue) > 0 {
			cur := in[queue[0]]
			queue = queue[1:]
			for _, up := range cur.ins {
				if _, ok := in[up]; !ok || up == cur.id {
					continue
				}
				if up == r.id {
					prev[up] = cur.id
					found = cur.id
					break search
				}
				if _, seen := prev[up]; !seen {
					prev[up] = cur.id
					queue = append(queue, up)
				}
			}
		}
		if found == "" {
			continue
		}
		// found is the stage that r's cycle feeds first; walk the data
		// flow from r: r → found → ... → r.
		path := []string{r.id}
		for at := found; at != r.id; at = prev[at] {
			path = append(path, at)
		}
		path = append(path, r.id)
		// r's upstream on the cycle is the second to last before r.
		upstream := path[len(path)-2]
		pos := r.inN
		for i, id := range r.ins {
			if id == upstream {
				pos = r.inPos[i]
			}
		}
		l.addf(pos, "a pipeline must be acyclic", "stage %q is part of a cycle: %s", r.id, strings.Join(path, " → "))
	}
}

var deviceRe = regexp.MustCompile(`^(auto|cpu|gpu|gpu:\d+)$`)
var idRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// stage checks one stage; it returns nil when the stage has no id.
func (l *loader) stage(n *yaml.Node) *rawStage {
	entries := l.mapping(n, "a stage")
	if entries == nil {
		return nil
	}
	r := &rawStage{node: n}
	for _, e := range entries {
		if e.key.Value == "id" {
			r.idN = e.val
			r.id, _ = l.name(e.val, "a stage id")
		}
	}
	if r.id == "" {
		if r.idN == nil || r.idN.Kind == yaml.ScalarNode {
			l.addf(n, "every stage needs `id: NAME`", "stage has no id")
		}
		return nil
	}
	if !idRe.MatchString(r.id) {
		l.addf(r.idN, "use letters, digits, _ and -, starting with a letter", "invalid stage id %q", r.id)
	}
	for k := range l.opt.Vars {
		if strings.HasPrefix(k, r.id+".") {
			l.usedSets[k] = true
		}
	}
	st := &Stage{ID: r.id, Replicas: 1, Line: n.Line}
	r.st = st
	// --set STAGE.device=… and STAGE.replicas=… override the stage keys.
	for _, key := range []string{"device", "replicas"} {
		v, ok := l.opt.Vars[r.id+"."+key]
		if !ok {
			continue
		}
		val := &yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: r.idN.Line, Column: r.idN.Column}
		replaced := false
		for i := range entries {
			if entries[i].key.Value == key {
				entries[i].val, replaced = val, true
			}
		}
		if !replaced {
			entries = append(entries, mapEntry{key: &yaml.Node{Kind: yaml.ScalarNode, Value: key, Line: r.idN.Line, Column: r.idN.Column}, val: val})
		}
	}
	var deviceN *yaml.Node
	for _, e := range entries {
		switch e.key.Value {
		case "id":
		case "op":
			r.opN = e.val
		case "in":
			r.inN = e.val
			l.inputs(r, e.val)
		case "with":
			r.withN = e.val
		case "replicas":
			v, err := strconv.Atoi(e.val.Value)
			if e.val.Kind != yaml.ScalarNode || err != nil || v < 1 || v > 1024 {
				l.addf(e.val, "", "stage %q: replicas must be an integer from 1 to 1024, not %s", r.id, describe(e.val))
			} else {
				st.Replicas = v
			}
		case "device":
			deviceN = e.val
			st.Device = e.val.Value
			if e.val.Kind != yaml.ScalarNode || !deviceRe.MatchString(st.Device) {
				l.addf(e.val, "one of auto, cpu, gpu, gpu:N", "stage %q: invalid device %s", r.id, describe(e.val))
			}
		default:
			l.addf(e.key, didYouMean(e.key.Value, stageKeys), "stage %q: unknown key %q", r.id, e.key.Value)
		}
	}
	st.In = r.ins
	if r.opN == nil {
		l.addf(n, "add `op: OPERATOR`", "stage %q has no op", r.id)
		return r
	}
	name, ok := l.name(r.opN, "`op`")
	if !ok {
		return r
	}
	st.Op = name
	spec, ok := l.opt.Registry.Lookup(st.Op)
	if !ok {
		l.addf(r.opN, didYouMean(st.Op, l.opt.Registry.Names()), "stage %q: unknown operator %q", r.id, st.Op)
		return r
	}
	st.Spec = spec
	l.stages = append(l.stages, st)
	switch {
	case spec.Kind == op.Source && len(r.ins) > 0:
		l.addf(r.inN, "remove `in`", "stage %q: %s is a source and takes no input", r.id, spec.Name)
	case spec.Kind != op.Source && len(r.ins) == 0 && r.inN == nil:
		l.addf(n, "add `in: STAGE`", "stage %q: %s needs an input", r.id, spec.Name)
	}
	if deviceN != nil && spec.Device && l.opt.GPUs != nil && deviceRe.MatchString(st.Device) {
		if _, err := op.DeviceOrdinal(st.Device, l.opt.GPUs, 0); err != nil {
			l.addf(deviceN, "", "stage %q: %v", r.id, err)
		}
	}
	if deviceN != nil && !spec.Device {
		l.addf(deviceN, "remove `device`", "stage %q: %s does not take a device", r.id, spec.Name)
	}
	st.Config = l.settings(r, spec)
	return r
}

// inputs reads `in`: one stage id or a list of them.
func (l *loader) inputs(r *rawStage, n *yaml.Node) {
	add := func(c *yaml.Node) {
		if c.Kind != yaml.ScalarNode {
			l.addf(c, "", "stage %q: `in` entries must be stage ids, not %s", r.id, kindName(c))
			return
		}
		for _, have := range r.ins {
			if have == c.Value {
				l.addf(c, "", "stage %q reads %q twice", r.id, c.Value)
				return
			}
		}
		r.ins = append(r.ins, c.Value)
		r.inPos = append(r.inPos, c)
	}
	switch {
	case isNull(n) || (n.Kind == yaml.ScalarNode && n.Value == ""):
		l.addf(n, "name the upstream stage: `in: STAGE`", "stage %q: `in` is empty", r.id)
	case n.Kind == yaml.ScalarNode:
		add(n)
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 {
			l.addf(n, "", "stage %q: `in` is an empty list", r.id)
		}
		for _, c := range n.Content {
			add(c)
		}
	default:
		l.addf(n, "", "stage %q: `in` must be a stage id or a list of them, not %s", r.id, kindName(n))
	}
}

// settings parses `with` and the --set STAGE.SETTING overrides against the
// spec; it returns nil when a setting is wrong.
func (l *loader) settings(r *rawStage, spec *op.Spec) *op.Config {
	names := make([]string, len(spec.Fields))
	for i, f := range spec.Fields {
		names[i] = f.Name
	}
	given := map[string]*yaml.Node{}
	ok := true
	if r.withN != nil && !isNull(r.withN) {
		entries := l.mapping(r.withN, "`with`")
		ok = entries != nil || r.withN.Kind == yaml.MappingNode
		for _, e := range entries {
			if _, known := spec.Field(e.key.Value); !known {
				l.addf(e.key, didYouMean(e.key.Value, names), "stage %q: %s has no setting %q", r.id, spec.Name, e.key.Value)
				ok = false
				continue
			}
			given[e.key.Value] = e.val
		}
	}
	for _, k := range sortedKeys(l.opt.Vars) {
		stage, setting, isSetting := strings.Cut(k, ".")
		if !isSetting || stage != r.id || setting == "device" || setting == "replicas" {
			continue // a plain variable, or a stage key handled in stage()
		}
		f, known := spec.Field(setting)
		if !known {
			l.addf(r.idN, didYouMean(setting, names), "--set %s: %s has no setting %q", k, spec.Name, setting)
			ok = false
			continue
		}
		n := setNode(f, l.opt.Vars[k])
		setPos(n, r.idN.Line, r.idN.Column)
		l.fromSet[n] = k + "=" + l.opt.Vars[k]
		given[setting] = n
	}
	vals := map[string]any{}
	for _, f := range spec.Fields {
		n, has := given[f.Name]
		if !has {
			if f.Required {
				l.addf(r.idN, fmt.Sprintf("add `%s:` under `with`: %s", f.Name, f.Doc), "stage %q: missing required setting %q", r.id, f.Name)
				ok = false
			}
			continue
		}
		v, bad := convert(f, n)
		if bad != nil {
			ok = false
			if l.unresolved[bad.node] {
				continue // the unset variable is reported
			}
			hint := bad.hint
			if set, ok := l.fromSet[n]; ok {
				hint = strings.TrimPrefix(hint+"; ", "; ") + "given by --set " + set
			}
			l.addf(bad.node, hint, "stage %q: setting %q: %s", r.id, f.Name, bad.msg)
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
	r.st.pos = given
	return cfg
}

// setNode makes the node for a --set STAGE.SETTING=VALUE override: VALUE
// is YAML (a list as [a, b], a number, ...), except that a string setting
// takes it literally.
func setNode(f op.Field, v string) *yaml.Node {
	if f.Type != op.String {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(v), &doc) == nil && len(doc.Content) == 1 {
			return doc.Content[0]
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// badValue says why a setting's value is wrong and where.
type badValue struct {
	node      *yaml.Node
	msg, hint string
}

// convert parses a setting's value to the Go type of its field.
func convert(f op.Field, n *yaml.Node) (any, *badValue) {
	bad := func(at *yaml.Node, format string, args ...any) *badValue {
		return &badValue{node: at, msg: fmt.Sprintf(format, args...)}
	}
	inEnum := func(at *yaml.Node) *badValue {
		if len(f.Enum) == 0 || slices.Contains(f.Enum, at.Value) {
			return nil
		}
		b := bad(at, "%q is not one of %s", at.Value, strings.Join(f.Enum, ", "))
		b.hint = didYouMean(at.Value, f.Enum)
		return b
	}
	bound := func(v float64) *badValue {
		if f.Min != nil && v < *f.Min {
			return bad(n, "%v is below the minimum %v", v, *f.Min)
		}
		if f.Max != nil && v > *f.Max {
			return bad(n, "%v is above the maximum %v", v, *f.Max)
		}
		return nil
	}
	if f.Type != op.Strings && f.Type != op.Map && n.Kind != yaml.ScalarNode {
		return nil, bad(n, "want %s, not %s", typeName(f.Type), describe(n))
	}
	s := n.Value
	switch f.Type {
	case op.String:
		return s, inEnum(n)
	case op.Int:
		v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil {
			return nil, bad(n, "want an integer, not %s", describe(n))
		}
		return v, bound(float64(v))
	case op.Float:
		v, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil {
			return nil, bad(n, "want a number, not %s", describe(n))
		}
		return v, bound(v)
	case op.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
		return nil, bad(n, "want true or false, not %s", describe(n))
	case op.Duration:
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, bad(n, "want a duration such as 10s or 1m30s, not %s", describe(n))
		}
		return v, nil
	case op.Strings:
		var out []string
		switch n.Kind {
		case yaml.ScalarNode:
			for _, s := range strings.Split(n.Value, ",") {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				if b := inEnum(&yaml.Node{Value: s}); b != nil {
					b.node = n
					return nil, b
				}
				out = append(out, s)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if c.Kind != yaml.ScalarNode {
					return nil, bad(c, "want a list of strings, not %s in it", kindName(c))
				}
				if b := inEnum(c); b != nil {
					return nil, b
				}
				out = append(out, c.Value)
			}
		default:
			return nil, bad(n, "want a list of strings, not %s", kindName(n))
		}
		return out, nil
	case op.Map:
		if n.Kind != yaml.MappingNode {
			return nil, bad(n, "want a mapping, not %s", kindName(n))
		}
		out := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return nil, bad(v, "want a string for %q, not %s", k.Value, kindName(v))
			}
			if _, dup := out[k.Value]; dup {
				return nil, bad(k, "duplicate key %q", k.Value)
			}
			out[k.Value] = v.Value
		}
		return out, nil
	}
	return nil, bad(n, "unknown setting type %v", f.Type)
}

// typeName names a scalar type with its article.
func typeName(t op.Type) string {
	switch t {
	case op.Int:
		return "an integer"
	case op.Float:
		return "a number"
	case op.Bool:
		return "true or false"
	case op.Duration:
		return "a duration"
	}
	return "a " + t.String()
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
		if up == nil || up.Spec == nil || l.flowFailed[in] {
			// An upstream problem is already reported; checking this
			// stage against an unknown input would only echo it.
			l.flowFailed[st.ID] = true
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
		l.flowFailed[st.ID] = true
		pos := r.inN
		if pos == nil {
			pos = r.idN
		}
		var hints []string
		var se *op.SettingError
		if errors.As(err, &se) {
			if n := st.pos[se.Setting]; n != nil {
				pos = n
				if set, ok := l.fromSet[n]; ok {
					hints = append(hints, "given by --set "+set)
				}
			} else if f, ok := st.Spec.Field(se.Setting); ok && f.Default != nil {
				hints = append(hints, fmt.Sprintf("%q is not set and defaults to %v", f.Name, f.Default))
			}
		}
		if len(st.In) > 0 {
			hints = append(hints, "input from "+stageList(st.In))
		}
		l.addf(pos, strings.Join(hints, "; "), "stage %q (%s): %v", st.ID, st.Op, err)
		return
	}
	st.Schema = out
	if l.opt.MaxPayload > 0 && len(out.Columns) > 0 {
		if b := out.ChunkBytes() + payloadOverhead; b > l.opt.MaxPayload {
			hint := "use smaller chunks in this stage or raise the server's max_payload"
			if srcs := sources(p, st); len(srcs) > 0 && st.Spec.Kind != op.Source {
				hint = "use smaller chunks in " + stageList(srcs) + " or raise the server's max_payload"
			}
			l.addf(r.idN, hint,
				"stage %q: its chunks of %d pixels × %d columns are %.1f MiB, over the transport's message limit of %.1f MiB",
				st.ID, out.ChunkPixels, len(out.Columns), float64(b)/(1<<20), float64(l.opt.MaxPayload)/(1<<20))
		}
	}
}

// stageList names stages for messages: stage "a" or stages "a", "b".
func stageList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = strconv.Quote(id)
	}
	if len(q) == 1 {
		return "stage " + q[0]
	}
	return "stages " + strings.Join(q, ", ")
}

// sources lists the source stages upstream of st, sorted.
func sources(p *Pipeline, st *Stage) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(s *Stage)
	walk = func(s *Stage) {
		if s == nil || seen[s.ID] {
			return
		}
		seen[s.ID] = true
		if s.Spec != nil && s.Spec.Kind == op.Source {
			out = append(out, s.ID)
		}
		for _, in := range s.In {
			walk(p.Stage(in))
		}
	}
	walk(st)
	sort.Strings(out)
	return out
}

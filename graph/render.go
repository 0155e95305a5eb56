package graph

import (
	"fmt"
	"io"
	"strings"
)

// labelLines describes a stage for drawings: id, then operator, replicas
// and device.
func (s *Stage) labelLines() []string {
	l := s.Op
	if s.Replicas > 1 {
		l += fmt.Sprintf(" ×%d", s.Replicas)
	}
	if s.Device != "" {
		l += " @" + s.Device
	}
	return []string{s.ID, l}
}

// edgeLabel lists the columns on an edge, shortened.
func edgeLabel(s *Stage) string {
	names := s.Schema.Names()
	if len(names) > 6 {
		names = append(names[:6], fmt.Sprintf("+%d", len(names)-6))
	}
	return strings.Join(names, ",")
}

// dotQuote quotes a DOT string; lines are joined with DOT's \n.
func dotQuote(lines ...string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = r.Replace(l)
	}
	return `"` + strings.Join(q, `\n`) + `"`
}

// WriteDOT writes the stage graph in Graphviz DOT.
func (p *Pipeline) WriteDOT(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", dotQuote(p.Name))
	for _, s := range p.Stages {
		fmt.Fprintf(&b, "  %s [label=%s];\n", dotQuote(s.ID), dotQuote(s.labelLines()...))
	}
	for _, s := range p.Stages {
		for _, in := range s.In {
			fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(in), dotQuote(s.ID), dotQuote(edgeLabel(p.Stage(in))))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes text for a quoted Mermaid label: anything but
// letters, digits and plain punctuation becomes an entity code.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '|' || r == '#' || r == '<' || r == '>' || r == '&' || r < ' ':
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WriteMermaid writes the stage graph as a Mermaid flowchart. Nodes are
// named s0, s1, ... (stage ids could collide with Mermaid keywords such as
// end) and labelled with the stage.
func (p *Pipeline) WriteMermaid(w io.Writer) error {
	var b strings.Builder
	node := map[string]string{}
	b.WriteString("flowchart LR\n")
	for i, s := range p.Stages {
		node[s.ID] = fmt.Sprintf("s%d", i)
		lines := s.labelLines()
		for j, l := range lines {
			lines[j] = mermaidText(l)
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", node[s.ID], strings.Join(lines, "<br/>"))
	}
	for _, s := range p.Stages {
		for _, in := range s.In {
			arrow := "-->"
			if l := edgeLabel(p.Stage(in)); l != "" {
				arrow += "|\"" + mermaidText(l) + "\"|"
			}
			fmt.Fprintf(&b, "  %s %s %s\n", node[in], arrow, node[s.ID])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

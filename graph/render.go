package graph

import (
	"fmt"
	"io"
	"strings"
)

// label describes a stage for drawings: id, operator, replicas, columns.
func (s *Stage) label() string {
	l := s.ID + "\\n" + s.Op
	if s.Replicas > 1 {
		l += fmt.Sprintf(" ×%d", s.Replicas)
	}
	if s.Device != "" {
		l += " @" + s.Device
	}
	return l
}

// edgeLabel lists the columns on an edge, shortened.
func edgeLabel(s *Stage) string {
	names := s.Schema.Names()
	if len(names) > 6 {
		names = append(names[:6], fmt.Sprintf("+%d", len(s.Schema.Columns)-6))
	}
	return strings.Join(names, ",")
}

// WriteDOT writes the stage graph in Graphviz DOT.
func (p *Pipeline) WriteDOT(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", p.Name)
	for _, s := range p.Stages {
		fmt.Fprintf(&b, "  %q [label=\"%s\"];\n", s.ID, s.label())
	}
	for _, s := range p.Stages {
		for _, in := range s.In {
			fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", in, s.ID, edgeLabel(p.Stage(in)))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMermaid writes the stage graph as a Mermaid flowchart.
func (p *Pipeline) WriteMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, s := range p.Stages {
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", s.ID, strings.ReplaceAll(s.label(), "\\n", "<br/>"))
	}
	for _, s := range p.Stages {
		for _, in := range s.In {
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", in, edgeLabel(p.Stage(in)), s.ID)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

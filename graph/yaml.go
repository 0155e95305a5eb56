package graph

import (
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var yamlLineRe = regexp.MustCompile(`^line (\d+): `)

// yamlMessage splits a yaml.v3 error into its line (0 when absent) and text.
func yamlMessage(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, msg[len(m[0]):]
	}
	return 0, msg
}

// yamlProblem turns a YAML syntax error into a Problem. yaml.v3 often
// names the line where the enclosing block began (or no line at all), so
// the problem line is taken as the shortest prefix of the file, in whole
// lines, that fails with the same error (found by bisection: prefixes that
// end before the problem parse, or fail differently); the column is that
// line's indentation.
func yamlProblem(file string, data []byte, err error) Problem {
	line, msg := yamlMessage(err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	failsSame := func(k int) bool {
		var n yaml.Node
		perr := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if perr == nil {
			return false
		}
		_, pmsg := yamlMessage(perr)
		return pmsg == msg
	}
	if k := sort.Search(len(lines), func(k int) bool { return failsSame(k + 1) }); k < len(lines) {
		line = k + 1
	}
	p := Problem{File: file, Line: line, Col: 1, Msg: "invalid YAML: " + msg}
	if line >= 1 && line <= len(lines) {
		text := string(lines[line-1])
		p.Col = 1 + len(text) - len(strings.TrimLeft(text, " \t"))
		switch {
		case strings.Contains(text, "\t") && strings.Contains(msg, "tab"):
			p.Hint = "indent with spaces, not tabs"
		case strings.Contains(text, "${") && strings.ContainsAny(text, "{[") && strings.Contains(msg, "expected"):
			p.Hint = `inside {...} or [...] quote variables: "${VAR}"`
		case strings.Contains(msg, "expected ',' or"):
			p.Hint = "check the brackets and quotes"
		case strings.Contains(msg, "indicator") || strings.Contains(msg, "expected key") || strings.Contains(msg, "not allowed in this context"):
			p.Hint = "check the indentation"
		}
	}
	return p
}

// maxNodes bounds the size of a pipeline after alias expansion, against
// "billion laughs" files whose aliases nest exponentially.
const maxNodes = 100000

// aliasResolver replaces alias nodes by what they name and expands merge
// keys (<<: *anchor) so that the rest of validation sees plain trees.
// Positions of expanded nodes are those of the anchored text.
type aliasResolver struct {
	done map[*yaml.Node]*yaml.Node
	size map[*yaml.Node]int
}

// resolveAliases returns the expanded tree, or false when it would exceed
// maxNodes.
func resolveAliases(root *yaml.Node) (*yaml.Node, bool) {
	r := &aliasResolver{done: map[*yaml.Node]*yaml.Node{}, size: map[*yaml.Node]int{}}
	out := r.resolve(root)
	return out, r.count(out) <= maxNodes
}

func (r *aliasResolver) resolve(n *yaml.Node) *yaml.Node {
	if out, ok := r.done[n]; ok {
		return out
	}
	r.done[n] = n // an alias cannot contain itself; this stops any loop
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		out := r.resolve(n.Alias)
		r.done[n] = out
		return out
	}
	for i, c := range n.Content {
		n.Content[i] = r.resolve(c)
	}
	if n.Kind != yaml.MappingNode {
		return n
	}
	// Expand merge keys: explicit keys win over merged ones.
	var own, merged []*yaml.Node
	has := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, src := range srcs {
				if src.Kind != yaml.MappingNode {
					own = append(own, k, v) // reported as an unknown key
					break
				}
				merged = append(merged, src.Content...)
			}
			continue
		}
		own = append(own, k, v)
		has[k.Value] = true
	}
	if merged == nil {
		return n
	}
	out := *n
	out.Content = own
	for i := 0; i+1 < len(merged); i += 2 {
		if !has[merged[i].Value] {
			has[merged[i].Value] = true
			out.Content = append(out.Content, merged[i], merged[i+1])
		}
	}
	r.done[n] = &out
	return &out
}

// count is the number of nodes in the expanded tree, saturating past
// maxNodes.
func (r *aliasResolver) count(n *yaml.Node) int {
	if s, ok := r.size[n]; ok {
		return s
	}
	r.size[n] = maxNodes + 1 // guards against a loop
	s := 1
	for _, c := range n.Content {
		s = min(s+r.count(c), maxNodes+1)
	}
	r.size[n] = s
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

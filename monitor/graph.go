package monitor

import "github.com/rasterflow/rasterflow/graph"

// Graph is a pipeline's stage graph as the dashboard draws it.
type Graph struct {
	Pipeline string      `json:"pipeline"`
	Stages   []GraphNode `json:"stages"`
}

// GraphNode is one stage; Level is its column in the drawing: 0 for
// sources, otherwise one more than its deepest input.
type GraphNode struct {
	ID       string   `json:"id"`
	Op       string   `json:"op"`
	In       []string `json:"in,omitempty"`
	Out      []string `json:"out,omitempty"`
	Replicas int      `json:"replicas"`
	Device   string   `json:"device,omitempty"`
	Level    int      `json:"level"`
}

// GraphOf describes p; nil gives nil.
func GraphOf(p *graph.Pipeline) *Graph {
	if p == nil {
		return nil
	}
	g := &Graph{Pipeline: p.Name}
	for _, s := range p.Stages {
		g.Stages = append(g.Stages, GraphNode{
			ID: s.ID, Op: s.Op, In: s.In, Out: s.Out, Replicas: s.Replicas, Device: s.Device,
		})
	}
	g.level()
	return g
}

// level assigns levels. Stages of a compiled pipeline come in topological
// order, but a graph read off the wire may not, and may even have a cycle:
// relaxing at most len(stages) times settles any acyclic order and bounds
// the work otherwise.
func (g *Graph) level() {
	idx := map[string]int{}
	for i, s := range g.Stages {
		idx[s.ID] = i
		g.Stages[i].Level = 0
	}
	for range g.Stages {
		changed := false
		for i, s := range g.Stages {
			lv := 0
			for _, in := range s.In {
				if j, ok := idx[in]; ok && j != i {
					lv = max(lv, g.Stages[j].Level+1)
				}
			}
			if lv > len(g.Stages) {
				lv = len(g.Stages)
			}
			if lv != s.Level {
				g.Stages[i].Level, changed = lv, true
			}
		}
		if !changed {
			return
		}
	}
}

// graphsFromRates makes edgeless graphs of the stages seen, for sources
// that know no pipeline graph: stages in a row, in the order seen.
func graphsFromRates(rates []Rate) []Graph {
	var out []Graph
	idx := map[string]int{}
	for _, r := range rates {
		i, ok := idx[r.Pipeline]
		if !ok {
			i = len(out)
			idx[r.Pipeline] = i
			out = append(out, Graph{Pipeline: r.Pipeline})
		}
		st := &out[i].Stages
		*st = append(*st, GraphNode{ID: r.Stage, Op: r.Op, Replicas: int(r.Replicas), Level: len(*st)})
	}
	return out
}

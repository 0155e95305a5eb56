package monitor

import (
	"bufio"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rasterflow/rasterflow/metrics"
)

// PrometheusContentType is the media type of WritePrometheus's output.
const PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

// family is one metric family of the stage counters.
type family struct {
	name, typ, help string
	value           func(s *metrics.Snapshot) float64
}

func count(f func(s *metrics.Snapshot) int64) func(s *metrics.Snapshot) float64 {
	return func(s *metrics.Snapshot) float64 { return float64(f(s)) }
}

func seconds(f func(s *metrics.Snapshot) time.Duration) func(s *metrics.Snapshot) float64 {
	return func(s *metrics.Snapshot) float64 { return f(s).Seconds() }
}

var stageFamilies = []family{
	{"rasterflow_stage_chunks_in_total", "counter", "Chunks a stage received.", count(func(s *metrics.Snapshot) int64 { return s.ChunksIn })},
	{"rasterflow_stage_chunks_out_total", "counter", "Chunks a stage emitted.", count(func(s *metrics.Snapshot) int64 { return s.ChunksOut })},
	{"rasterflow_stage_pixels_in_total", "counter", "Pixels (rows) a stage received.", count(func(s *metrics.Snapshot) int64 { return s.PixelsIn })},
	{"rasterflow_stage_pixels_out_total", "counter", "Pixels (rows) a stage emitted.", count(func(s *metrics.Snapshot) int64 { return s.PixelsOut })},
	{"rasterflow_stage_bytes_in_total", "counter", "Bytes a stage received.", count(func(s *metrics.Snapshot) int64 { return s.BytesIn })},
	{"rasterflow_stage_bytes_out_total", "counter", "Bytes a stage emitted.", count(func(s *metrics.Snapshot) int64 { return s.BytesOut })},
	{"rasterflow_stage_busy_seconds_total", "counter", "Time a stage's replicas spent processing, summed over replicas.", seconds(func(s *metrics.Snapshot) time.Duration { return s.Busy })},
	{"rasterflow_stage_blocked_seconds_total", "counter", "Time a stage's replicas spent waiting on downstream credits (back-pressure), summed over replicas.", seconds(func(s *metrics.Snapshot) time.Duration { return s.Blocked })},
	{"rasterflow_stage_errors_total", "counter", "Errors a stage reported.", count(func(s *metrics.Snapshot) int64 { return s.Errors })},
	{"rasterflow_stage_redeliveries_total", "counter", "Chunks delivered to a stage again.", count(func(s *metrics.Snapshot) int64 { return s.Redeliveries })},
	{"rasterflow_stage_scenes_total", "counter", "Scenes a stage completed.", count(func(s *metrics.Snapshot) int64 { return s.Scenes })},
	{"rasterflow_stage_inflight", "gauge", "Chunks received by a stage and not yet processed (backlog).", count(func(s *metrics.Snapshot) int64 { return s.InFlight })},
	{"rasterflow_stage_replicas", "gauge", "Parallel workers of a stage in this process.", count(func(s *metrics.Snapshot) int64 { return max(s.Replicas, 1) })},
}

const latencyFamily = "rasterflow_stage_latency_seconds"

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// WritePrometheus writes the stages' counters and the gauges in the
// Prometheus text exposition format (version 0.0.4). Every stage sample
// has the labels pipeline, stage, op and worker; latency is a summary with
// quantiles 0.5, 0.95 and 0.99. Gauges with invalid metric or label names
// are skipped, as are gauges whose name is one of the stage families.
func WritePrometheus(w io.Writer, snaps []metrics.Snapshot, gauges []Gauge) error {
	bw := bufio.NewWriter(w)
	p := promWriter{w: bw}
	for _, f := range stageFamilies {
		p.header(f.name, f.typ, f.help)
		for i := range snaps {
			p.sample(f.name, stageLabels(&snaps[i]), f.value(&snaps[i]))
		}
	}
	p.header(latencyFamily, "summary", "Time a stage took per chunk, since the start (quantiles are log-bucket upper bounds).")
	for i := range snaps {
		s := &snaps[i]
		l := stageLabels(s)
		for _, q := range []struct {
			q string
			d time.Duration
		}{{"0.5", s.P50}, {"0.95", s.P95}, {"0.99", s.P99}} {
			p.sample(latencyFamily, append(l[:len(l):len(l)], [2]string{"quantile", q.q}), q.d.Seconds())
		}
		p.sample(latencyFamily+"_sum", l, s.LatencySum.Seconds())
		p.sample(latencyFamily+"_count", l, float64(s.LatencyCount))
	}
	p.gauges(gauges)
	return bw.Flush()
}

func stageLabels(s *metrics.Snapshot) [][2]string {
	return [][2]string{{"pipeline", s.Pipeline}, {"stage", s.ID}, {"op", s.Op}, {"worker", s.Worker}}
}

type promWriter struct{ w *bufio.Writer }

func (p promWriter) header(name, typ, help string) {
	p.w.WriteString("# HELP " + name + " " + helpEscaper.Replace(help) + "\n")
	p.w.WriteString("# TYPE " + name + " " + typ + "\n")
}

func (p promWriter) sample(name string, labels [][2]string, v float64) {
	p.w.WriteString(name)
	if len(labels) > 0 {
		p.w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				p.w.WriteByte(',')
			}
			p.w.WriteString(l[0] + `="` + labelEscaper.Replace(l[1]) + `"`)
		}
		p.w.WriteByte('}')
	}
	p.w.WriteByte(' ')
	p.w.WriteString(formatValue(v))
	p.w.WriteByte('\n')
}

// gauges writes the extra gauges grouped by name (a family must be
// contiguous), in name order.
func (p promWriter) gauges(gs []Gauge) {
	reserved := map[string]bool{latencyFamily: true}
	for _, f := range stageFamilies {
		reserved[f.name] = true
	}
	byName := map[string][]Gauge{}
	var names []string
	for _, g := range gs {
		if !metricNameRE.MatchString(g.Name) || reserved[g.Name] || !validLabels(g.Labels) {
			continue
		}
		if _, ok := byName[g.Name]; !ok {
			names = append(names, g.Name)
		}
		byName[g.Name] = append(byName[g.Name], g)
	}
	sort.Strings(names)
	for _, name := range names {
		group := byName[name]
		help := group[0].Help
		if help == "" {
			help = name
		}
		p.header(name, "gauge", help)
		for _, g := range group {
			p.sample(name, sortedLabels(g.Labels), g.Value)
		}
	}
}

func validLabels(m map[string]string) bool {
	for k := range m {
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") {
			return false
		}
	}
	return true
}

func sortedLabels(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

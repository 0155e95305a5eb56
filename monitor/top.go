package monitor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
)

// WriteTable prints a view's stages, grouped by pipeline: throughput,
// the fractions busy and back-pressured, backlog, latency and errors.
func WriteTable(w io.Writer, v View) error {
	if len(v.Stages) == 0 {
		_, err := fmt.Fprintln(w, "no stages yet")
		return err
	}
	for i := 0; i < len(v.Stages); {
		j := i + 1
		for j < len(v.Stages) && v.Stages[j].Pipeline == v.Stages[i].Pipeline {
			j++
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "pipeline %s\n", v.Stages[i].Pipeline)
		if err := writeRows(w, v.Stages[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func writeRows(w io.Writer, rates []Rate) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\top\tworkers\treplicas\tchunks/s\tMpixel/s\tMB/s\tbusy\tback-pressured\tin-flight\tp50\tp99\terrors\tstate\t")
	for _, r := range rates {
		state := r.State
		if r.Stale {
			state = "stale"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.2f\t%.1f\t%.0f%%\t%.0f%%\t%d\t%s\t%s\t%d\t%s\t\n",
			r.Stage, r.Op, r.Workers, r.Replicas, r.ChunksPerSec(), r.PixelsPerSec()/1e6, r.BytesPerSec()/1e6,
			100*r.Busy, 100*r.Blocked, r.InFlight, formatSeconds(r.P50), formatSeconds(r.P99), r.Errors, state)
	}
	return tw.Flush()
}

// formatSeconds prints a latency with three significant digits.
func formatSeconds(s float64) string {
	if s <= 0 {
		return "-"
	}
	d := time.Duration(s * 1e9)
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// TopOptions configure Top.
type TopOptions struct {
	// Interval between redraws; 0 means one second.
	Interval time.Duration
	// Once prints one table, without escape codes, as soon as every worker
	// heard from has published twice (so rates exist), and returns.
	Once bool
	// Wait bounds how long Once waits; 0 means 10 seconds.
	Wait time.Duration
}

// ErrNoMetrics is returned by Top with Once when nothing usable arrived.
var ErrNoMetrics = fmt.Errorf("monitor: no metrics published")

// Top shows the snapshots published on subject as a table redrawn in place
// (ANSI) until ctx is done.
func Top(ctx context.Context, nc *nats.Conn, subject string, w io.Writer, opt TopOptions) error {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Wait <= 0 {
		opt.Wait = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := Collect(ctx, nc, subject)
	if err != nil {
		return err
	}
	s := NewSampler(c, Options{Interval: opt.Interval})
	tick := time.NewTicker(opt.Interval)
	defer tick.Stop()
	var deadline <-chan time.Time
	if opt.Once {
		t := time.NewTimer(opt.Wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			n, bad, lastErr := c.Stats()
			if bad > 0 {
				return fmt.Errorf("%w on %s within %s (%d valid, %d invalid messages; last: %v)", ErrNoMetrics, subject, opt.Wait, n, bad, lastErr)
			}
			return fmt.Errorf("%w on %s within %s (%d messages)", ErrNoMetrics, subject, opt.Wait, n)
		case <-c.Changed():
		case <-tick.C:
		}
		v := s.Sample()
		if opt.Once {
			if ready(v) {
				return WriteTable(w, v)
			}
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "rasterflow top — %s — %s\n\n", subject, v.At.Format("15:04:05"))
		WriteTable(&b, v)
		// Home, each line cleared to its end, then the rest of the screen.
		frame := "\033[H" + strings.ReplaceAll(b.String(), "\n", "\033[K\n") + "\033[J"
		if _, err := io.WriteString(w, frame); err != nil {
			return err
		}
	}
}

// ready reports whether every live worker's stages have rates.
func ready(v View) bool {
	if len(v.Workers) == 0 {
		return false
	}
	for _, r := range v.Workers {
		if !r.Stale && r.Seconds == 0 {
			return false
		}
	}
	return true
}

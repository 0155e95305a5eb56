package metrics

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteSummary prints one line per stage: chunks, pixels, Mpixel/s and MB/s
// over the wall time, and the time busy and blocked on downstream.
func WriteSummary(w io.Writer, snaps []Snapshot, wall time.Duration) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\top\tchunks in\tchunks out\tMpixel\tMpixel/s\tMB/s\tbusy\tblocked\tp50\tp99\terrors\t")
	sec := wall.Seconds()
	if sec <= 0 {
		sec = 1e-9
	}
	for _, s := range snaps {
		pix := max(s.PixelsIn, s.PixelsOut)
		bytes := max(s.BytesIn, s.BytesOut)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%d\t\n",
			s.ID, s.Op, s.ChunksIn, s.ChunksOut, float64(pix)/1e6, float64(pix)/1e6/sec, float64(bytes)/1e6/sec,
			round(s.Busy), round(s.Blocked), round(s.P50), round(s.P99), s.Errors)
	}
	return tw.Flush()
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

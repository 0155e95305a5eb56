package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rasterflow/rasterflow/operators"
)

func cmdOperators(args []string, stdout, stderr io.Writer) error {
	reg := operators.Registry()
	names := reg.Names()
	if len(args) > 0 {
		names = args
	}
	for _, n := range names {
		s, ok := reg.Lookup(n)
		if !ok {
			return fmt.Errorf("unknown operator %q", n)
		}
		dev := ""
		if s.Device {
			dev = " (device: auto|cpu|gpu|gpu:N)"
		}
		fmt.Fprintf(stdout, "%s — %s%s\n  %s\n", s.Name, s.Kind, dev, s.Doc)
		for _, f := range s.Fields {
			var extra []string
			if f.Required {
				extra = append(extra, "required")
			} else if f.Default != nil {
				extra = append(extra, fmt.Sprintf("default %v", f.Default))
			}
			if len(f.Enum) > 0 {
				extra = append(extra, "one of "+strings.Join(f.Enum, ","))
			}
			e := ""
			if len(extra) > 0 {
				e = " [" + strings.Join(extra, "; ") + "]"
			}
			fmt.Fprintf(stdout, "    %-10s %-16s %s%s\n", f.Name, f.Type, f.Doc, e)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

package cuda

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
)

// IndexKind is the formula of a spectral index over reflectances.
type IndexKind int

const (
	// NormalizedDifference is (a-b)/(a+b) over Bands {a, b} (NDVI: nir, red).
	NormalizedDifference IndexKind = iota
	// SAVI is 1.5(nir-red)/(nir+red+0.5) over Bands {nir, red}.
	SAVI
	// EVI is 2.5(nir-red)/(nir + 6 red - 7.5 blue + 1) over Bands {nir, red, blue}.
	EVI
)

func (k IndexKind) bands() int {
	switch k {
	case NormalizedDifference, SAVI:
		return 2
	case EVI:
		return 3
	}
	return 0
}

func (k IndexKind) String() string {
	switch k {
	case NormalizedDifference:
		return "normalized-difference"
	case SAVI:
		return "savi"
	case EVI:
		return "evi"
	}
	return fmt.Sprintf("IndexKind(%d)", int(k))
}

// IndexSpec is one output column: Name is its key in the output map, Bands
// the input band names in the order Kind documents.
type IndexSpec struct {
	Name  string
	Kind  IndexKind
	Bands []string
}

// indexPlan is a validated Indices request.
type indexPlan struct {
	n        int
	bands    []string // distinct bands used, in first-use order: the input planes
	planes   [][]uint16
	spec     [][3]int32 // per spec: plane of a, b, c
	nodata   uint16
	hasNodat bool
}

// planIndices checks the request and allocates missing outputs. Every band
// any spec uses must have the same length; out[name] is allocated when nil.
func planIndices(bands map[string][]uint16, nodata *float64, specs []IndexSpec, out map[string][]float32) (*indexPlan, error) {
	p := &indexPlan{n: -1}
	if out == nil {
		return nil, fmt.Errorf("%w: nil output map", ErrShape)
	}
	plane := map[string]int{}
	seen := map[string]bool{}
	for _, s := range specs {
		if want := s.Kind.bands(); want == 0 || len(s.Bands) != want {
			return nil, fmt.Errorf("cuda: index %q: %v needs %d bands, got %d", s.Name, s.Kind, s.Kind.bands(), len(s.Bands))
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("cuda: index %q requested twice", s.Name)
		}
		seen[s.Name] = true
		var pl [3]int32
		for i, b := range s.Bands {
			j, ok := plane[b]
			if !ok {
				data, ok := bands[b]
				if !ok {
					return nil, fmt.Errorf("cuda: index %q: no band %q", s.Name, b)
				}
				if p.n >= 0 && len(data) != p.n {
					return nil, fmt.Errorf("%w: band %q has %d pixels, band %q %d", ErrShape, b, len(data), p.bands[0], p.n)
				}
				p.n = len(data)
				j = len(p.bands)
				plane[b] = j
				p.bands = append(p.bands, b)
				p.planes = append(p.planes, data)
			}
			pl[i] = int32(j)
		}
		p.spec = append(p.spec, pl)
	}
	p.n = max(p.n, 0)
	for _, s := range specs {
		o := out[s.Name]
		if o == nil {
			o = make([]float32, p.n)
			out[s.Name] = o
		}
		if len(o) != p.n {
			return nil, fmt.Errorf("%w: output %q has %d pixels, bands have %d", ErrShape, s.Name, len(o), p.n)
		}
	}
	// Only a nodata value a uint16 can hold matches anything (as the CPU
	// operator compares float64(v) == nodata).
	if nodata != nil && *nodata >= 0 && *nodata <= math.MaxUint16 && *nodata == math.Trunc(*nodata) {
		p.nodata, p.hasNodat = uint16(*nodata), true
	}
	return p, nil
}

// IndicesCPU is the reference for Device.Indices, in pure Go: reflectance
// (DN + offset) × scale, then the index formula in float32, each operation
// rounded separately. A pixel where any band used by any spec equals nodata
// is NaN in every output, and so is a non-finite result (a zero
// denominator). out[spec.Name] is allocated when nil.
func IndicesCPU(bands map[string][]uint16, nodata *float64, specs []IndexSpec, scale, offset float32, out map[string][]float32) error {
	p, err := planIndices(bands, nodata, specs, out)
	if err != nil {
		return err
	}
	nan := float32(math.NaN())
	refl := func(v uint16) float32 { return float32(float32(v)+offset) * scale }
	for i := range p.n {
		valid := true
		if p.hasNodat {
			for _, pl := range p.planes {
				if pl[i] == p.nodata {
					valid = false
				}
			}
		}
		for s, spec := range specs {
			r := nan
			if valid {
				pl := p.spec[s]
				a, b := refl(p.planes[pl[0]][i]), refl(p.planes[pl[1]][i])
				switch spec.Kind {
				case NormalizedDifference:
					r = (a - b) / (a + b)
				case SAVI:
					r = float32(1.5*(a-b)) / float32(float32(a+b)+0.5)
				case EVI:
					c := refl(p.planes[pl[2]][i])
					den := float32(float32(float32(a+float32(6*b))-float32(7.5*c)) + 1)
					r = float32(2.5*(a-b)) / den
				}
				if r != r || math.IsInf(float64(r), 0) {
					r = nan
				}
			}
			out[spec.Name][i] = r
		}
	}
	return nil
}

// Indices computes specs over bands on the device, like IndicesCPU (the
// results are identical bit for bit but for NaN payloads). Pixels stream
// through in chunks that fit the pool.
func (dv *Device) Indices(ctx context.Context, bands map[string][]uint16, nodata *float64, specs []IndexSpec, scale, offset float32, out map[string][]float32) error {
	p, err := planIndices(bands, nodata, specs, out)
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		return nil
	}
	nb, ns := len(p.bands), len(specs)
	outs := make([][]float32, ns)
	for s, spec := range specs {
		outs[s] = out[spec.Name]
	}
	// The spec table in groups of maxSpecsPerLaunch, as the struct the
	// kernel takes by value.
	var groups [][]byte
	for g := 0; g < ns; g += maxSpecsPerLaunch {
		groups = append(groups, specTable(specs[g:min(ns, g+maxSpecsPerLaunch)], p.spec[g:], g))
	}
	hasNodata := int32(0)
	if p.hasNodat {
		hasNodata = 1
	}
	return dv.run(ctx, job{
		rows:   p.n,
		inRow:  int64(nb) * 2,
		outRow: int64(ns) * 4,
		fill: func(dst []byte, lo, hi int) {
			m := hi - lo
			for j, pl := range p.planes {
				copy(dst[j*m*2:(j+1)*m*2], asBytes(pl[lo:hi]))
			}
		},
		kernel: func(s uintptr, in, o uint64, m int) error {
			for _, tab := range groups {
				if err := dv.launch("rf_indices", m, s, in, int32(nb), int32(m), scale, offset,
					hasNodata, uint32(p.nodata), tab, o); err != nil {
					return err
				}
			}
			return nil
		},
		drain: func(src []byte, lo, hi int) {
			m := hi - lo
			for s, o := range outs {
				copy(o[lo:hi], fromBytes[float32](src[s*m*4:(s+1)*m*4]))
			}
		},
	})
}

// specTable encodes struct rf_index_specs for specs (planes gives their
// bands' input planes; first is the output plane of specs[0]).
func specTable(specs []IndexSpec, planes [][3]int32, first int) []byte {
	const n = maxSpecsPerLaunch
	tab := make([]int32, 1+5*n)
	tab[0] = int32(len(specs))
	for i, s := range specs {
		tab[1+i] = int32(s.Kind)
		tab[1+n+i] = planes[i][0]
		tab[1+2*n+i] = planes[i][1]
		tab[1+3*n+i] = planes[i][2]
		tab[1+4*n+i] = int32(first + i)
	}
	b := make([]byte, 0, 4*len(tab))
	for _, v := range tab {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

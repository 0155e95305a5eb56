package tiff

import (
	"math"
	"strings"
)

// parseGeoKeys decodes the GeoKeyDirectory (GeoTIFF 1.1 section 7.1). Keys
// whose values point outside the parameter tags are skipped.
func (r *reader) parseGeoKeys(d *ifd) (GeoKeys, bool, error) {
	k := GeoKeys{Short: map[uint16]uint16{}, Double: map[uint16][]float64{}, ASCII: map[uint16]string{}}
	dir, ok, err := r.uints(d, tGeoKeyDirectory)
	if err != nil || !ok {
		return k, false, err
	}
	if len(dir) < 4 {
		return k, false, r.errf("GeoKeyDirectory has %d values", len(dir))
	}
	dbl, _, err := r.floats(d, tGeoDoubleParams)
	if err != nil {
		return k, false, err
	}
	asc, _ := r.str(d, tGeoASCIIParams)
	n := int(dir[3])
	if n > (len(dir)-4)/4 {
		return k, false, r.errf("GeoKeyDirectory declares %d keys but holds %d", n, (len(dir)-4)/4)
	}
	for i := 0; i < n; i++ {
		e := dir[4+4*i : 8+4*i]
		id, loc, cnt, val := uint16(e[0]), e[1], e[2], e[3]
		switch loc {
		case 0:
			k.Short[id] = uint16(val)
		case tGeoKeyDirectory:
			if val+cnt <= uint64(len(dir)) && cnt > 0 {
				k.Short[id] = uint16(dir[val])
			}
		case tGeoDoubleParams:
			if val+cnt <= uint64(len(dbl)) {
				k.Double[id] = append([]float64(nil), dbl[val:val+cnt]...)
			}
		case tGeoASCIIParams:
			if val+cnt <= uint64(len(asc)) {
				s := asc[val : val+cnt]
				k.ASCII[id] = strings.TrimRight(s, "|\x00")
			}
		}
	}
	return k, true, nil
}

// parseGeoref reads the georeferencing tags of an IFD the way GDAL does:
// ModelTransformation wins over tiepoint+scale, and PixelIsPoint rasters are
// shifted by half a pixel so that Transform maps pixel corners.
func (r *reader) parseGeoref(d *ifd) (Georef, error) {
	var g Georef
	keys, _, err := r.parseGeoKeys(d)
	if err != nil {
		return g, err
	}
	g.Keys = keys
	g.PixelIsPoint = keys.Short[GTRasterTypeGeoKey] == RasterPixelIsPoint
	mt, _, err := r.floats(d, tModelTransformation)
	if err != nil {
		return g, err
	}
	tp, _, err := r.floats(d, tModelTiepoint)
	if err != nil {
		return g, err
	}
	sc, _, err := r.floats(d, tModelPixelScale)
	if err != nil {
		return g, err
	}
	switch {
	case len(mt) >= 16:
		g.Transform = [6]float64{mt[3], mt[0], mt[1], mt[7], mt[4], mt[5]}
		g.HasTransform = true
	case len(tp) >= 6 && len(sc) >= 2:
		g.Transform = [6]float64{tp[3] - tp[0]*sc[0], sc[0], 0, tp[4] + tp[1]*sc[1], 0, -sc[1]}
		g.HasTransform = true
	}
	for _, v := range g.Transform {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			g.HasTransform = false
		}
	}
	if g.HasTransform && g.PixelIsPoint {
		t := &g.Transform
		t[0] -= 0.5*t[1] + 0.5*t[2]
		t[3] -= 0.5*t[4] + 0.5*t[5]
	}
	return g, nil
}

// scaled returns the georeferencing of a reduced-resolution image of the
// given size, as GDAL computes it for overviews.
func (g Georef) scaled(w0, h0, w, h int) Georef {
	if !g.HasTransform || w <= 0 || h <= 0 {
		return g
	}
	fx, fy := float64(w0)/float64(w), float64(h0)/float64(h)
	g.Transform[1] *= fx
	g.Transform[4] *= fx
	g.Transform[2] *= fy
	g.Transform[5] *= fy
	return g
}

// CRS returns "EPSG:<code>" when the keys name an EPSG CRS, otherwise the
// best citation string (GTCitation, PCSCitation, GeogCitation), or "".
func (k GeoKeys) CRS() string {
	if c := k.EPSG(); c != 0 {
		return "EPSG:" + itoa(c)
	}
	for _, id := range []uint16{GTCitationGeoKey, PCSCitationGeoKey, GeogCitationGeoKey} {
		if s := k.ASCII[id]; s != "" {
			return s
		}
	}
	return ""
}

package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads "EPSG:n" (for the codes this package knows) or a PROJ string
// such as "+proj=lcc +lat_1=36.17 +lat_2=34.33 +lat_0=33.75 +lon_0=-79
// +x_0=609601.22 +y_0=0 +ellps=GRS80 +units=m". A PROJ string equal to a
// known EPSG CRS gets that code.
func Parse(s string) (*CRS, error) {
	s = strings.TrimSpace(s)
	if len(s) > 5 && strings.EqualFold(s[:5], "EPSG:") {
		code, err := strconv.Atoi(s[5:])
		if err != nil || code <= 0 {
			return nil, fmt.Errorf("geo: bad EPSG code in %q", s)
		}
		return fromEPSG(code)
	}
	if !strings.HasPrefix(s, "+") {
		return nil, fmt.Errorf("%w: %q is neither EPSG:n nor a PROJ string", ErrUnsupported, s)
	}
	c, err := parseProj(s)
	if err != nil {
		return nil, err
	}
	identify(c)
	return c, nil
}

func parseProj(s string) (*CRS, error) {
	params := map[string]string{}
	for _, tok := range strings.Fields(s) {
		if !strings.HasPrefix(tok, "+") {
			return nil, fmt.Errorf("geo: PROJ token %q lacks '+'", tok)
		}
		k, v, _ := strings.Cut(tok[1:], "=")
		params[k] = v
	}
	var perr error
	num := func(k string, def float64) float64 {
		v, ok := params[k]
		if !ok {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			perr = fmt.Errorf("geo: PROJ parameter +%s=%q is not a number", k, v)
		}
		return f
	}
	c := &CRS{Unit: 1}
	var err error
	if c.Ellipsoid, c.Datum, err = projEllipsoid(params, num); err != nil {
		return nil, err
	}
	c.Lat0 = num("lat_0", 0)
	c.Lon0 = num("lon_0", 0)
	c.X0 = num("x_0", 0)
	c.Y0 = num("y_0", 0)
	c.K0 = num("k_0", num("k", 1))
	switch p := params["proj"]; p {
	case "longlat", "latlong", "lonlat", "latlon":
		c = &CRS{Projection: LongLat, Ellipsoid: c.Ellipsoid, Datum: c.Datum}
	case "utm":
		zone := int(num("zone", 0))
		if zone < 1 || zone > 60 {
			return nil, fmt.Errorf("geo: PROJ utm needs +zone=1..60, got %q", params["zone"])
		}
		c.Projection = TransverseMercator
		c.Lat0, c.Lon0, c.K0, c.X0, c.Y0 = 0, float64(zone)*6-183, 0.9996, 500000, 0
		if _, ok := params["south"]; ok {
			c.Y0 = 10000000
		}
	case "tmerc":
		c.Projection = TransverseMercator
	case "merc":
		c.Projection = Mercator
		c.Lat1 = num("lat_ts", 0)
	case "webmerc":
		c.Projection = Mercator
		c.Ellipsoid, c.Datum = Sphere, DatumWGS84
	case "lcc":
		c.Lat1 = num("lat_1", 0)
		c.Lat2 = num("lat_2", c.Lat1)
		c.Projection = LCC2SP
		if c.Lat1 == c.Lat2 && c.Lat1 == c.Lat0 {
			c.Projection = LCC1SP
		}
	default:
		return nil, fmt.Errorf("%w: PROJ projection %q", ErrUnsupported, p)
	}
	if c.Projection == Mercator && c.Ellipsoid.InvF == 0 && params["nadgrids"] == "@null" {
		c.Datum = DatumWGS84 // Web Mercator: WGS 84 coordinates used on the sphere
	}
	if c.Projection != LongLat {
		if c.Unit, err = projUnit(params, num); err != nil {
			return nil, err
		}
	}
	if pm, ok := params["pm"]; ok && pm != "greenwich" && pm != "0" {
		return nil, fmt.Errorf("%w: prime meridian %q", ErrUnsupported, pm)
	}
	if ax, ok := params["axis"]; ok && ax != "enu" {
		return nil, fmt.Errorf("%w: axis order %q", ErrUnsupported, ax)
	}
	if perr != nil {
		return nil, perr
	}
	if _, err := c.projector(); err != nil {
		return nil, err
	}
	return c, nil
}

func projEllipsoid(params map[string]string, num func(string, float64) float64) (Ellipsoid, string, error) {
	if t, ok := params["towgs84"]; ok {
		for _, v := range strings.Split(t, ",") {
			if f, err := strconv.ParseFloat(v, 64); err != nil || f != 0 {
				return Ellipsoid{}, "", fmt.Errorf("%w: datum shift +towgs84=%s", ErrUnsupported, t)
			}
		}
	}
	if g, ok := params["nadgrids"]; ok && g != "@null" {
		return Ellipsoid{}, "", fmt.Errorf("%w: datum grid +nadgrids=%s", ErrUnsupported, g)
	}
	switch d := params["datum"]; d {
	case "":
	case "WGS84":
		return WGS84, DatumWGS84, nil
	case "NAD83":
		return GRS80, DatumNAD83, nil
	default:
		return Ellipsoid{}, "", fmt.Errorf("%w: datum %q", ErrUnsupported, d)
	}
	switch e := params["ellps"]; e {
	case "":
	case "WGS84":
		return WGS84, "", nil
	case "GRS80":
		return GRS80, "", nil
	default:
		return Ellipsoid{}, "", fmt.Errorf("%w: ellipsoid %q", ErrUnsupported, e)
	}
	if _, ok := params["R"]; ok {
		return Ellipsoid{A: num("R", 0)}, "", nil
	}
	if _, ok := params["a"]; !ok {
		return WGS84, DatumWGS84, nil // PROJ's default
	}
	e := Ellipsoid{A: num("a", 0)}
	switch {
	case params["rf"] != "":
		e.InvF = num("rf", 0)
	case params["f"] != "":
		if f := num("f", 0); f != 0 {
			e.InvF = 1 / f
		}
	case params["b"] != "":
		if b := num("b", 0); b != e.A {
			e.InvF = e.A / (e.A - b)
		}
	}
	return e, "", nil
}

var projUnits = map[string]float64{"m": 1, "km": 1000, "us-ft": USSurveyFoot, "ft": 0.3048}

func projUnit(params map[string]string, num func(string, float64) float64) (float64, error) {
	if u, ok := params["units"]; ok {
		f, ok := projUnits[u]
		if !ok {
			return 0, fmt.Errorf("%w: linear unit %q", ErrUnsupported, u)
		}
		return f, nil
	}
	return num("to_meter", 1), nil
}

// identify sets c.EPSG (and Name) when c equals a CRS of the EPSG table with
// the same datum.
func identify(c *CRS) {
	var cands []int
	switch c.Projection {
	case LongLat:
		cands = []int{geogCodeOf(c.Datum)}
	case TransverseMercator:
		zone := int(math.Round((c.Lon0 + 183) / 6))
		south := c.Y0 == 10000000
		for _, r := range [][3]int{{32600, 32700, 4326}, {26900, 0, 4269}, {31965 - 11, 31977 - 17, 4674}, {25800, 0, 4258}} {
			if geodetics[r[2]].datum != c.Datum {
				continue
			}
			if south && r[1] != 0 {
				cands = append(cands, r[1]+zone)
			} else if !south {
				cands = append(cands, r[0]+zone)
			}
		}
	default:
		cands = []int{3857, 3395, 32119, 2264}
	}
	for _, code := range cands {
		k, err := fromEPSG(code)
		if err == nil && k.Datum == c.Datum && k.Equal(c) {
			c.EPSG, c.Name = k.EPSG, k.Name
			return
		}
	}
}

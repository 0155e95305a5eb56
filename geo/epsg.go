package geo

import (
	"fmt"
)

// geodetic describes a geographic CRS known by EPSG code.
type geodetic struct {
	name               string
	datum              string
	ell                Ellipsoid
	datumCode, ellCode int // GeoTIFF/EPSG datum and ellipsoid codes
}

var geodetics = map[int]geodetic{
	4326: {"WGS 84", DatumWGS84, WGS84, 6326, 7030},
	4269: {"NAD83", DatumNAD83, GRS80, 6269, 7019},
	4674: {"SIRGAS 2000", DatumSIRGAS2000, GRS80, 6674, 7019},
	4258: {"ETRS89", DatumETRS89, GRS80, 6258, 7019},
}

// geogCodeOf returns the EPSG code of the geographic CRS with this datum.
func geogCodeOf(datum string) int {
	for code, g := range geodetics {
		if g.datum == datum {
			return code
		}
	}
	return 0
}

func geographicEPSG(code int) (*CRS, bool) {
	g, ok := geodetics[code]
	if !ok {
		return nil, false
	}
	return &CRS{EPSG: code, Name: g.name, Projection: LongLat, Ellipsoid: g.ell, Datum: g.datum}, true
}

// utm returns a UTM CRS (zone 1..60) on the base geographic CRS geog.
func utm(code, geog, zone int, south bool) *CRS {
	g := geodetics[geog]
	c := &CRS{EPSG: code, Projection: TransverseMercator, Ellipsoid: g.ell, Datum: g.datum,
		Lon0: float64(zone)*6 - 183, K0: 0.9996, X0: 500000, Unit: 1}
	hemi := "N"
	if south {
		c.Y0 = 10000000
		hemi = "S"
	}
	c.Name = fmt.Sprintf("%s / UTM zone %d%s", g.name, zone, hemi)
	return c
}

// fromEPSG returns the CRS with an EPSG code this package knows.
func fromEPSG(code int) (*CRS, error) {
	if c, ok := geographicEPSG(code); ok {
		return c, nil
	}
	switch {
	case code >= 32601 && code <= 32660:
		return utm(code, 4326, code-32600, false), nil
	case code >= 32701 && code <= 32760:
		return utm(code, 4326, code-32700, true), nil
	case code >= 26901 && code <= 26923:
		return utm(code, 4269, code-26900, false), nil
	case code >= 31965 && code <= 31976: // SIRGAS 2000 / UTM 11N..22N
		return utm(code, 4674, code-31965+11, false), nil
	case code >= 31977 && code <= 31985: // SIRGAS 2000 / UTM 17S..25S
		return utm(code, 4674, code-31977+17, true), nil
	case code >= 25828 && code <= 25838: // ETRS89 / UTM 28N..38N
		return utm(code, 4258, code-25800, false), nil
	}
	switch code {
	case 3857:
		return &CRS{EPSG: 3857, Name: "WGS 84 / Pseudo-Mercator", Projection: Mercator,
			Ellipsoid: Sphere, Datum: DatumWGS84, Unit: 1}, nil
	case 3395:
		return &CRS{EPSG: 3395, Name: "WGS 84 / World Mercator", Projection: Mercator,
			Ellipsoid: WGS84, Datum: DatumWGS84, Unit: 1}, nil
	case 32119, 2264:
		c := &CRS{EPSG: code, Name: "NAD83 / North Carolina", Projection: LCC2SP, Ellipsoid: GRS80,
			Datum: DatumNAD83, Lat0: 33.75, Lon0: -79, Lat1: 36 + 10/60.0, Lat2: 34 + 20/60.0,
			X0: 609601.22, Unit: 1}
		if code == 2264 {
			c.Name += " (ftUS)"
			c.X0 = 2000000 * USSurveyFoot
			c.Unit = USSurveyFoot
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: EPSG:%d is not in this package's table", ErrUnsupported, code)
}

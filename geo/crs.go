package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Projection is a projection method.
type Projection uint8

// Projection methods.
const (
	LongLat            Projection = iota + 1 // geographic, degrees
	TransverseMercator                       // EPSG 9807 (UTM included)
	Mercator                                 // EPSG 9804/9805, spherical when the ellipsoid is a sphere
	LCC1SP                                   // Lambert Conic Conformal (1SP), EPSG 9801
	LCC2SP                                   // Lambert Conic Conformal (2SP), EPSG 9802
)

var projectionNames = map[Projection]string{
	LongLat: "longlat", TransverseMercator: "tmerc", Mercator: "merc",
	LCC1SP: "lcc", LCC2SP: "lcc",
}

func (m Projection) String() string {
	if s, ok := projectionNames[m]; ok {
		return s
	}
	return fmt.Sprintf("projection(%d)", uint8(m))
}

// Datum names (only used to describe the CRS; no datum shift is applied).
const (
	DatumWGS84      = "WGS84"
	DatumNAD83      = "NAD83"
	DatumSIRGAS2000 = "SIRGAS2000"
	DatumETRS89     = "ETRS89"
)

// US survey foot in metres.
const USSurveyFoot = 1200.0 / 3937.0

// Errors.
var (
	ErrUnsupported = errors.New("geo: unsupported CRS")
	ErrDomain      = errors.New("geo: point outside the projection domain")
)

// CRS is a coordinate reference system. Angles are in degrees; false
// easting/northing in metres whatever the linear unit.
type CRS struct {
	EPSG       int // 0 when not a known EPSG code
	Name       string
	Projection Projection
	Ellipsoid  Ellipsoid
	Datum      string // DatumWGS84, ... or "" when unknown

	Lat0, Lon0 float64 // latitude/longitude of (false/natural) origin
	Lat1, Lat2 float64 // standard parallels (LCC2SP); Lat1 = lat_ts for Mercator
	K0         float64 // scale factor at natural origin (TM, LCC1SP, Mercator); 0 means 1
	X0, Y0     float64 // false easting/northing in metres
	Unit       float64 // metres per linear unit (projected CRSs)
}

// IsGeographic reports whether coordinates are longitude/latitude degrees.
func (c *CRS) IsGeographic() bool { return c.Projection == LongLat }

// Equal reports whether two CRSs define the same coordinates (same method,
// ellipsoid, parameters and unit; datum names and EPSG codes are not
// compared, see the package documentation on datums).
func (c *CRS) Equal(o *CRS) bool {
	if c == nil || o == nil {
		return c == o
	}
	if c.Projection != o.Projection || !c.Ellipsoid.equal(o.Ellipsoid) {
		return false
	}
	if c.Projection == LongLat {
		return true
	}
	const angTol, linTol = 1e-10, 1e-6
	ang := func(a, b float64) bool { return math.Abs(a-b) <= angTol }
	lin := func(a, b float64) bool { return math.Abs(a-b) <= linTol }
	return ang(c.Lat0, o.Lat0) && ang(c.Lon0, o.Lon0) && ang(c.Lat1, o.Lat1) &&
		ang(c.Lat2, o.Lat2) && math.Abs(c.k0()-o.k0()) <= 1e-12 && lin(c.X0, o.X0) &&
		lin(c.Y0, o.Y0) && closeRel(c.unit(), o.unit(), 1e-12)
}

func (c *CRS) k0() float64 {
	if c.K0 == 0 {
		return 1
	}
	return c.K0
}

func (c *CRS) unit() float64 {
	if c.Unit == 0 {
		return 1
	}
	return c.Unit
}

// String returns "EPSG:n" for known codes, else a PROJ string that Parse
// reads back to an equal CRS.
func (c *CRS) String() string {
	if c == nil {
		return "<nil>"
	}
	if c.EPSG != 0 {
		return "EPSG:" + strconv.Itoa(c.EPSG)
	}
	return c.Proj()
}

// Proj returns the CRS as a PROJ string.
func (c *CRS) Proj() string {
	var b strings.Builder
	f := func(k string, v float64) {
		fmt.Fprintf(&b, " +%s=%s", k, strconv.FormatFloat(v, 'g', -1, 64))
	}
	b.WriteString("+proj=" + c.Projection.String())
	switch c.Projection {
	case TransverseMercator:
		f("lat_0", c.Lat0)
		f("lon_0", c.Lon0)
		f("k", c.K0)
	case Mercator:
		f("lat_ts", c.Lat1)
		f("lon_0", c.Lon0)
		f("k", c.K0)
	case LCC1SP:
		f("lat_1", c.Lat0)
		f("lat_0", c.Lat0)
		f("lon_0", c.Lon0)
		f("k_0", c.K0)
	case LCC2SP:
		f("lat_0", c.Lat0)
		f("lon_0", c.Lon0)
		f("lat_1", c.Lat1)
		f("lat_2", c.Lat2)
		if c.K0 != 0 && c.K0 != 1 {
			f("k_0", c.K0)
		}
	}
	if c.Projection != LongLat {
		f("x_0", c.X0)
		f("y_0", c.Y0)
	}
	switch {
	case c.Ellipsoid.Name != "" && c.Datum == DatumWGS84 && c.Ellipsoid.equal(WGS84):
		b.WriteString(" +datum=WGS84")
	case c.Datum == DatumNAD83 && c.Ellipsoid.equal(GRS80):
		b.WriteString(" +datum=NAD83")
	case c.Ellipsoid.Name != "":
		b.WriteString(" +ellps=" + c.Ellipsoid.Name)
	case c.Ellipsoid.InvF == 0:
		f("a", c.Ellipsoid.A)
		f("b", c.Ellipsoid.A)
	default:
		f("a", c.Ellipsoid.A)
		f("rf", c.Ellipsoid.InvF)
	}
	if c.Projection != LongLat {
		switch u := c.unit(); u {
		case 1:
			b.WriteString(" +units=m")
		case USSurveyFoot:
			b.WriteString(" +units=us-ft")
		case 0.3048:
			b.WriteString(" +units=ft")
		default:
			f("to_meter", u)
		}
	}
	b.WriteString(" +no_defs")
	return b.String()
}

// projector builds the coordinate converter of the CRS.
func (c *CRS) projector() (projector, error) {
	if c.Ellipsoid.A <= 0 || c.Ellipsoid.InvF < 0 || (c.Ellipsoid.InvF != 0 && c.Ellipsoid.InvF < 1) {
		return nil, fmt.Errorf("%w: bad ellipsoid %+v", ErrUnsupported, c.Ellipsoid)
	}
	u := c.unit()
	if !(u > 0) || math.IsInf(u, 0) {
		return nil, fmt.Errorf("%w: bad linear unit %v", ErrUnsupported, c.Unit)
	}
	aff := affine{lon0: c.Lon0 * deg2rad, x0: c.X0, y0: c.Y0, unit: u}
	k0 := c.k0()
	if !(k0 > 0) {
		return nil, fmt.Errorf("%w: bad scale factor %v", ErrUnsupported, c.K0)
	}
	switch c.Projection {
	case LongLat:
		return longlat{}, nil
	case TransverseMercator:
		return newTmerc(aff, c.Ellipsoid, c.Lat0*deg2rad, k0), nil
	case Mercator:
		e := math.Sqrt(c.Ellipsoid.Es())
		if c.Lat1 != 0 {
			if math.Abs(c.Lat1) >= 90 {
				return nil, fmt.Errorf("%w: Mercator lat_ts %v", ErrUnsupported, c.Lat1)
			}
			s, co := math.Sincos(c.Lat1 * deg2rad)
			k0 *= msfn(s, co, c.Ellipsoid.Es())
		}
		return &mercator{affine: aff, a: c.Ellipsoid.A, e: e, k0: k0}, nil
	case LCC1SP:
		if math.Abs(c.Lat0) < 1e-10 || math.Abs(c.Lat0) >= 90 {
			return nil, fmt.Errorf("%w: LCC 1SP latitude of origin %v", ErrUnsupported, c.Lat0)
		}
		return newLCC(aff, c.Ellipsoid, c.Lat0*deg2rad, c.Lat0*deg2rad, c.Lat0*deg2rad, k0), nil
	case LCC2SP:
		if math.Abs(c.Lat1+c.Lat2) < 1e-10 || math.Abs(c.Lat1) >= 90 || math.Abs(c.Lat2) >= 90 {
			return nil, fmt.Errorf("%w: LCC 2SP standard parallels %v, %v", ErrUnsupported, c.Lat1, c.Lat2)
		}
		return newLCC(aff, c.Ellipsoid, c.Lat0*deg2rad, c.Lat1*deg2rad, c.Lat2*deg2rad, k0), nil
	}
	return nil, fmt.Errorf("%w: projection %v", ErrUnsupported, c.Projection)
}

package geo

import "math"

// Ellipsoid is a reference ellipsoid. InvF is the inverse flattening; 0 means
// a sphere of radius A.
type Ellipsoid struct {
	Name string  // PROJ name ("WGS84", "GRS80") or "" when given by axes
	A    float64 // semi-major axis in metres
	InvF float64 // inverse flattening, 0 for a sphere
}

// Well-known ellipsoids.
var (
	WGS84  = Ellipsoid{Name: "WGS84", A: 6378137, InvF: 298.257223563}
	GRS80  = Ellipsoid{Name: "GRS80", A: 6378137, InvF: 298.257222101}
	Sphere = Ellipsoid{A: 6378137} // the Web Mercator sphere
)

// F is the flattening.
func (e Ellipsoid) F() float64 {
	if e.InvF == 0 {
		return 0
	}
	return 1 / e.InvF
}

// B is the semi-minor axis.
func (e Ellipsoid) B() float64 { return e.A * (1 - e.F()) }

// Es is the first eccentricity squared.
func (e Ellipsoid) Es() float64 {
	f := e.F()
	return f * (2 - f)
}

func (e Ellipsoid) equal(o Ellipsoid) bool {
	return closeRel(e.A, o.A, 1e-12) && closeRel(e.F(), o.F(), 1e-9)
}

func closeRel(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

package geo

import "math"

// projector converts between geodetic longitude/latitude in radians (longitude
// relative to Greenwich) and CRS coordinates in the CRS's units. ok=false
// means the point is outside the projection's domain.
type projector interface {
	forward(lam, phi float64) (x, y float64, ok bool)
	inverse(x, y float64) (lam, phi float64, ok bool)
}

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
	halfPi  = math.Pi / 2
	eps10   = 1e-10
)

// adjlon wraps a longitude in radians into [-pi, pi].
func adjlon(l float64) float64 {
	if math.Abs(l) <= math.Pi+1e-12 {
		return l
	}
	l = math.Mod(l+math.Pi, 2*math.Pi)
	if l < 0 {
		l += 2 * math.Pi
	}
	return l - math.Pi
}

// affine holds the parts common to every projection: central meridian, false
// easting/northing (metres) and the linear unit (metres per unit).
type affine struct {
	lon0   float64 // radians
	x0, y0 float64 // metres
	unit   float64 // metres per CRS unit
}

func (a affine) out(x, y float64) (float64, float64) {
	return (x + a.x0) / a.unit, (y + a.y0) / a.unit
}

func (a affine) in(x, y float64) (float64, float64) {
	return x*a.unit - a.x0, y*a.unit - a.y0
}

// longlat is a geographic CRS: coordinates in degrees.
type longlat struct{}

func (longlat) forward(lam, phi float64) (float64, float64, bool) {
	return lam * rad2deg, phi * rad2deg, true
}

func (longlat) inverse(x, y float64) (float64, float64, bool) {
	if math.IsNaN(x) || math.IsNaN(y) || math.Abs(y) > 90+1e-9 {
		return 0, 0, false
	}
	return x * deg2rad, y * deg2rad, true
}

// msfn and tsfn are PROJ's helper functions (Snyder 14-15 and 15-9).
func msfn(sinphi, cosphi, es float64) float64 {
	return cosphi / math.Sqrt(1-es*sinphi*sinphi)
}

func tsfn(phi, sinphi, e float64) float64 {
	es := e * sinphi
	return math.Tan(0.5*(halfPi-phi)) / math.Pow((1-es)/(1+es), 0.5*e)
}

// phi2 inverts tsfn by fixed-point iteration (Snyder 7-9).
func phi2(ts, e float64) (float64, bool) {
	eh := 0.5 * e
	phi := halfPi - 2*math.Atan(ts)
	for i := 0; i < 30; i++ {
		con := e * math.Sin(phi)
		dphi := halfPi - 2*math.Atan(ts*math.Pow((1-con)/(1+con), eh)) - phi
		phi += dphi
		if math.Abs(dphi) < 1e-14 {
			return phi, true
		}
	}
	return phi, false
}

// mercator is the Mercator projection, ellipsoidal or (when es = 0)
// spherical; k0 already includes the lat_ts scale.
type mercator struct {
	affine
	a, e, k0 float64
}

func (p *mercator) forward(lam, phi float64) (float64, float64, bool) {
	if math.Abs(math.Abs(phi)-halfPi) <= eps10 {
		return 0, 0, false
	}
	lam = adjlon(lam - p.lon0)
	x := p.k0 * p.a * lam
	var y float64
	if p.e == 0 {
		y = p.k0 * p.a * math.Asinh(math.Tan(phi))
	} else {
		y = -p.k0 * p.a * math.Log(tsfn(phi, math.Sin(phi), p.e))
	}
	x, y = p.out(x, y)
	return x, y, true
}

func (p *mercator) inverse(x, y float64) (float64, float64, bool) {
	x, y = p.in(x, y)
	lam := x/(p.k0*p.a) + p.lon0
	var phi float64
	if p.e == 0 {
		phi = math.Atan(math.Sinh(y / (p.k0 * p.a)))
	} else {
		var ok bool
		if phi, ok = phi2(math.Exp(-y/(p.k0*p.a)), p.e); !ok {
			return 0, 0, false
		}
	}
	return adjlon(lam), phi, true
}

// lcc is the Lambert Conformal Conic projection (EPSG guidance note 7-2,
// section 1.3.1; PROJ lcc.cpp), 1SP when phi1 == phi2 with scale k0.
type lcc struct {
	affine
	a, e, k0   float64
	n, c, rho0 float64
}

func newLCC(aff affine, ell Ellipsoid, phi0, phi1, phi2 float64, k0 float64) *lcc {
	p := &lcc{affine: aff, a: ell.A, e: math.Sqrt(ell.Es()), k0: k0}
	es := ell.Es()
	sinphi := math.Sin(phi1)
	p.n = sinphi
	m1 := msfn(sinphi, math.Cos(phi1), es)
	if p.e == 0 {
		if math.Abs(phi1-phi2) >= eps10 {
			p.n = math.Log(math.Cos(phi1)/math.Cos(phi2)) /
				math.Log(math.Tan(math.Pi/4+0.5*phi2)/math.Tan(math.Pi/4+0.5*phi1))
		}
		p.c = math.Cos(phi1) * math.Pow(math.Tan(math.Pi/4+0.5*phi1), p.n) / p.n
		if math.Abs(math.Abs(phi0)-halfPi) < eps10 {
			p.rho0 = 0
		} else {
			p.rho0 = p.c * math.Pow(math.Tan(math.Pi/4+0.5*phi0), -p.n)
		}
		return p
	}
	ml1 := tsfn(phi1, sinphi, p.e)
	if math.Abs(phi1-phi2) >= eps10 {
		s2 := math.Sin(phi2)
		p.n = math.Log(m1/msfn(s2, math.Cos(phi2), es)) / math.Log(ml1/tsfn(phi2, s2, p.e))
	}
	p.c = m1 * math.Pow(ml1, -p.n) / p.n
	if math.Abs(math.Abs(phi0)-halfPi) < eps10 {
		p.rho0 = 0
	} else {
		p.rho0 = p.c * math.Pow(tsfn(phi0, math.Sin(phi0), p.e), p.n)
	}
	return p
}

func (p *lcc) ts(phi float64) float64 {
	if p.e == 0 {
		return 1 / math.Tan(math.Pi/4+0.5*phi)
	}
	return tsfn(phi, math.Sin(phi), p.e)
}

func (p *lcc) forward(lam, phi float64) (float64, float64, bool) {
	var rho float64
	if math.Abs(math.Abs(phi)-halfPi) < eps10 {
		if phi*p.n <= 0 {
			return 0, 0, false
		}
	} else {
		rho = p.c * math.Pow(p.ts(phi), p.n)
	}
	lam = adjlon(lam-p.lon0) * p.n
	s, c := math.Sincos(lam)
	x := p.k0 * p.a * rho * s
	y := p.k0 * p.a * (p.rho0 - rho*c)
	x, y = p.out(x, y)
	return x, y, true
}

func (p *lcc) inverse(x, y float64) (float64, float64, bool) {
	x, y = p.in(x, y)
	x /= p.k0 * p.a
	y = p.rho0 - y/(p.k0*p.a)
	rho := math.Hypot(x, y)
	if rho == 0 {
		if p.n > 0 {
			return p.lon0, halfPi, true
		}
		return p.lon0, -halfPi, true
	}
	if p.n < 0 {
		rho, x, y = -rho, -x, -y
	}
	ts := math.Pow(rho/p.c, 1/p.n)
	var phi float64
	if p.e == 0 {
		phi = halfPi - 2*math.Atan(ts)
	} else {
		var ok bool
		if phi, ok = phi2(ts, p.e); !ok {
			return 0, 0, false
		}
	}
	return adjlon(math.Atan2(x, y)/p.n + p.lon0), phi, true
}

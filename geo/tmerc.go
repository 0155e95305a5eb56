package geo

import (
	"math"
)

// tmerc is the ellipsoidal Transverse Mercator projection with the
// Poder/Engsager extended series ("etmerc", 6th order in the third
// flattening n; K. Poder and K. Engsager, "Some conformal mappings and
// transformations for geodesy and topographic cartography", 1998), the
// algorithm PROJ uses by default for tmerc and utm.
type tmerc struct {
	affine
	qn, zb   float64    // merid. quadrant scaled by k0*a, radius-vector offset of lat_0
	cgb, cbg [6]float64 // Gaussian <-> geodetic latitude
	utg, gtu [6]float64 // ellipsoidal N,E <-> spherical N,E
}

func newTmerc(aff affine, ell Ellipsoid, phi0, k0 float64) *tmerc {
	p := &tmerc{affine: aff}
	f := ell.F()
	n := f / (2 - f)
	np := n
	p.cgb[0] = n * (2 + n*(-2/3.0+n*(-2+n*(116/45.0+n*(26/45.0+n*(-2854/675.0))))))
	p.cbg[0] = n * (-2 + n*(2/3.0+n*(4/3.0+n*(-82/45.0+n*(32/45.0+n*(4642/4725.0))))))
	np *= n
	p.cgb[1] = np * (7/3.0 + n*(-8/5.0+n*(-227/45.0+n*(2704/315.0+n*(2323/945.0)))))
	p.cbg[1] = np * (5/3.0 + n*(-16/15.0+n*(-13/9.0+n*(904/315.0+n*(-1522/945.0)))))
	np *= n
	p.cgb[2] = np * (56/15.0 + n*(-136/35.0+n*(-1262/105.0+n*(73814/2835.0))))
	p.cbg[2] = np * (-26/15.0 + n*(34/21.0+n*(8/5.0+n*(-12686/2835.0))))
	np *= n
	p.cgb[3] = np * (4279/630.0 + n*(-332/35.0+n*(-399572/14175.0)))
	p.cbg[3] = np * (1237/630.0 + n*(-12/5.0+n*(-24832/14175.0)))
	np *= n
	p.cgb[4] = np * (4174/315.0 + n*(-144838/6237.0))
	p.cbg[4] = np * (-734/315.0 + n*(109598/31185.0))
	np *= n
	p.cgb[5] = np * (601676 / 22275.0)
	p.cbg[5] = np * (444337 / 155925.0)

	np = n * n
	p.qn = k0 / (1 + n) * (1 + np*(1/4.0+np*(1/64.0+np/256.0))) * ell.A

	p.utg[0] = n * (-0.5 + n*(2/3.0+n*(-37/96.0+n*(1/360.0+n*(81/512.0+n*(-96199/604800.0))))))
	p.gtu[0] = n * (0.5 + n*(-2/3.0+n*(5/16.0+n*(41/180.0+n*(-127/288.0+n*(7891/37800.0))))))
	p.utg[1] = np * (-1/48.0 + n*(-1/15.0+n*(437/1440.0+n*(-46/105.0+n*(1118711/3870720.0)))))
	p.gtu[1] = np * (13/48.0 + n*(-3/5.0+n*(557/1440.0+n*(281/630.0+n*(-1983433/1935360.0)))))
	np *= n
	p.utg[2] = np * (-17/480.0 + n*(37/840.0+n*(209/4480.0+n*(-5569/90720.0))))
	p.gtu[2] = np * (61/240.0 + n*(-103/140.0+n*(15061/26880.0+n*(167603/181440.0))))
	np *= n
	p.utg[3] = np * (-4397/161280.0 + n*(11/504.0+n*(830251/7257600.0)))
	p.gtu[3] = np * (49561/161280.0 + n*(-179/168.0+n*(6601661/7257600.0)))
	np *= n
	p.utg[4] = np * (-4583/161280.0 + n*(108847/3991680.0))
	p.gtu[4] = np * (34729/80640.0 + n*(-3418889/1995840.0))
	np *= n
	p.utg[5] = np * (-20648693 / 638668800.0)
	p.gtu[5] = np * (212378941 / 319334400.0)

	z := gatg(&p.cbg, phi0)
	p.zb = -p.qn * (z + clens(&p.gtu, 2*z))
	return p
}

// gatg returns B + sum p[k] sin(2(k+1)B) by Clenshaw summation.
func gatg(p *[6]float64, b float64) float64 {
	s2, c2 := math.Sincos(2 * b)
	cos2 := 2 * c2
	var h, h1, h2 float64
	h1 = p[5]
	for k := 4; k >= 0; k-- {
		h = -h2 + cos2*h1 + p[k]
		h2, h1 = h1, h
	}
	return b + h*s2
}

// clens returns sum a[k] sin((k+1)*arg) for a real argument.
func clens(a *[6]float64, arg float64) float64 {
	s, c := math.Sincos(arg)
	r := 2 * c
	var hr, hr1, hr2 float64
	hr1 = a[5]
	for k := 4; k >= 0; k-- {
		hr = -hr2 + r*hr1 + a[k]
		hr2, hr1 = hr1, hr
	}
	return s * hr
}

// clensC returns sum a[k] sin((k+1)*(argR + i argI)) (real and imaginary
// parts) by complex Clenshaw summation.
func clensC(a *[6]float64, argR, argI float64) (float64, float64) {
	sr, cr := math.Sincos(argR)
	shi, chi := math.Sinh(argI), math.Cosh(argI)
	// r = 2 cos(arg), i = -2 sin(arg) sinh... : cos(x+iy) = cos x cosh y - i sin x sinh y
	r := 2 * cr * chi
	i := -2 * sr * shi
	var hr, hi, hr1, hi1, hr2, hi2 float64
	hr1 = a[5]
	for k := 4; k >= 0; k-- {
		hr = -hr2 + r*hr1 - i*hi1 + a[k]
		hi = -hi2 + i*hr1 + r*hi1
		hr2, hi2, hr1, hi1 = hr1, hi1, hr, hi
	}
	// sin(x+iy) = sin x cosh y + i cos x sinh y
	r = sr * chi
	i = cr * shi
	return r*hr - i*hi, r*hi + i*hr
}

// ceMax bounds the ellipsoidal easting (in units of qn) where the series is
// valid, as in PROJ.
const ceMax = 2.623395162778

func (p *tmerc) forward(lam, phi float64) (float64, float64, bool) {
	lam = adjlon(lam - p.lon0)
	cn := gatg(&p.cbg, phi)
	sinCn, cosCn := math.Sincos(cn)
	sinCe, cosCe := math.Sincos(lam)
	cn = math.Atan2(sinCn, cosCe*cosCn)
	ce := math.Atan2(sinCe*cosCn, math.Hypot(sinCn, cosCn*cosCe))
	ce = math.Asinh(math.Tan(ce))
	dCn, dCe := clensC(&p.gtu, 2*cn, 2*ce)
	cn += dCn
	ce += dCe
	if math.Abs(ce) > ceMax {
		return 0, 0, false
	}
	x, y := p.out(p.qn*ce, p.qn*cn+p.zb)
	return x, y, true
}

func (p *tmerc) inverse(x, y float64) (float64, float64, bool) {
	x, y = p.in(x, y)
	cn := (y - p.zb) / p.qn
	ce := x / p.qn
	if math.Abs(ce) > ceMax {
		return 0, 0, false
	}
	dCn, dCe := clensC(&p.utg, 2*cn, 2*ce)
	cn += dCn
	ce += dCe
	ce = math.Atan(math.Sinh(ce))
	sinCn, cosCn := math.Sincos(cn)
	sinCe, cosCe := math.Sincos(ce)
	lam := math.Atan2(sinCe, cosCe*cosCn)
	phi := math.Atan2(sinCn*cosCe, math.Hypot(sinCe, cosCe*cosCn))
	phi = gatg(&p.cgb, phi)
	return adjlon(lam + p.lon0), phi, true
}

package geo

import (
	"fmt"
	"math"

	"github.com/rasterflow/rasterflow/tiff"
)

// GeoTIFF codes (GeoTIFF 1.1 annex C, EPSG registry).
const (
	ctTransverseMercator = 1
	ctMercator           = 7
	ctLCC2SP             = 8
	ctLCC1SP             = 9

	unitMetre                = 9001
	unitFoot                 = 9002
	unitUSSurveyFt           = 9003
	unitDegree               = 9102
	pmGreenwich              = 8901
	projLinearUnitSizeGeoKey = 3077
)

var ctNames = map[uint16]string{
	1: "CT_TransverseMercator", 2: "CT_TransvMercator_Modified_Alaska", 3: "CT_ObliqueMercator",
	4: "CT_ObliqueMercator_Laborde", 5: "CT_ObliqueMercator_Rosenmund", 6: "CT_ObliqueMercator_Spherical",
	7: "CT_Mercator", 8: "CT_LambertConfConic_2SP", 9: "CT_LambertConfConic_1SP",
	10: "CT_LambertAzimEqualArea", 11: "CT_AlbersEqualArea", 12: "CT_AzimuthalEquidistant",
	13: "CT_EquidistantConic", 14: "CT_Stereographic", 15: "CT_PolarStereographic",
	16: "CT_ObliqueStereographic", 17: "CT_Equirectangular", 18: "CT_CassiniSoldner",
	19: "CT_Gnomonic", 20: "CT_MillerCylindrical", 21: "CT_Orthographic", 22: "CT_Polyconic",
	23: "CT_Robinson", 24: "CT_Sinusoidal", 25: "CT_VanDerGrinten", 26: "CT_NewZealandMapGrid",
	27: "CT_TransvMercator_SouthOriented",
}

var linearUnits = map[uint16]float64{unitMetre: 1, unitFoot: 0.3048, unitUSSurveyFt: USSurveyFoot}

var ellipsoidCodes = map[uint16]Ellipsoid{7030: WGS84, 7019: GRS80}

// FromGeoKeys builds the CRS described by a GeoTIFF key directory: an EPSG
// code this package knows, or a user-defined geographic / projected CRS
// (ProjectedCSTypeGeoKey = 32767) with one of the supported coordinate
// transformations (ProjCoordTransGeoKey 1, 7, 8, 9) or a UTM projection code
// (ProjectionGeoKey 16001-16060 / 16101-16160).
func FromGeoKeys(k tiff.GeoKeys) (*CRS, error) {
	if code := k.EPSG(); code != 0 {
		return fromEPSG(code)
	}
	model := k.Short[tiff.GTModelTypeGeoKey]
	if model == tiff.ModelTypeGeocentric {
		return nil, fmt.Errorf("%w: geocentric GeoTIFF model", ErrUnsupported)
	}
	geog, err := geographicFromKeys(k)
	if err != nil {
		return nil, err
	}
	if model == tiff.ModelTypeGeographic || (model == 0 && k.Short[tiff.ProjCoordTransGeoKey] == 0 && k.Short[tiff.ProjectionGeoKey] == 0) {
		identify(geog)
		return geog, nil
	}
	c := &CRS{Ellipsoid: geog.Ellipsoid, Datum: geog.Datum, Name: k.ASCII[tiff.PCSCitationGeoKey]}
	if c.Name == "" {
		c.Name = k.ASCII[tiff.GTCitationGeoKey]
	}
	if c.Unit, err = linearUnitFromKeys(k); err != nil {
		return nil, err
	}
	if p := int(k.Short[tiff.ProjectionGeoKey]); (p > 16000 && p <= 16060) || (p > 16100 && p <= 16160) {
		zone := p % 100
		c.Projection, c.Lon0, c.K0, c.X0 = TransverseMercator, float64(zone)*6-183, 0.9996, 500000
		if p > 16100 {
			c.Y0 = 10000000
		}
		identify(c)
		return c, nil
	}
	d := func(id uint16, def float64) float64 {
		if v := k.Double[id]; len(v) > 0 {
			return v[0]
		}
		return def
	}
	// Parameters may be given by either the natural-origin or the
	// false-origin keys; GDAL accepts both.
	natLon := d(tiff.ProjNatOriginLongGeoKey, d(tiff.ProjFalseOriginLongGeoKey, d(tiff.ProjCenterLongGeoKey, 0)))
	natLat := d(tiff.ProjNatOriginLatGeoKey, d(tiff.ProjFalseOriginLatGeoKey, d(tiff.ProjCenterLatGeoKey, 0)))
	fe := d(tiff.ProjFalseEastingGeoKey, d(tiff.ProjFalseOriginEastingGeoKey, 0))
	fn := d(tiff.ProjFalseNorthingGeoKey, d(tiff.ProjFalseOriginNorthingGeoKey, 0))
	k0 := d(tiff.ProjScaleAtNatOriginGeoKey, d(tiff.ProjScaleAtCenterGeoKey, 1))
	ct, ok := k.Short[tiff.ProjCoordTransGeoKey]
	if !ok {
		return nil, fmt.Errorf("%w: user-defined projected CRS without ProjCoordTransGeoKey", ErrUnsupported)
	}
	switch ct {
	case ctTransverseMercator:
		c.Projection, c.Lon0, c.Lat0, c.K0 = TransverseMercator, natLon, natLat, k0
	case ctMercator:
		c.Projection, c.Lon0, c.Lat0, c.K0 = Mercator, natLon, 0, k0
		c.Lat1 = d(tiff.ProjStdParallel1GeoKey, 0)
	case ctLCC1SP:
		c.Projection, c.Lon0, c.Lat0, c.K0 = LCC1SP, natLon, natLat, k0
		c.Lat1, c.Lat2 = natLat, natLat
	case ctLCC2SP:
		c.Projection = LCC2SP
		c.Lon0 = d(tiff.ProjFalseOriginLongGeoKey, natLon)
		c.Lat0 = d(tiff.ProjFalseOriginLatGeoKey, natLat)
		c.Lat1 = d(tiff.ProjStdParallel1GeoKey, 0)
		c.Lat2 = d(tiff.ProjStdParallel2GeoKey, c.Lat1)
		fe = d(tiff.ProjFalseOriginEastingGeoKey, d(tiff.ProjFalseEastingGeoKey, 0))
		fn = d(tiff.ProjFalseOriginNorthingGeoKey, d(tiff.ProjFalseNorthingGeoKey, 0))
	default:
		name := ctNames[ct]
		if name == "" {
			name = "unknown"
		}
		return nil, fmt.Errorf("%w: GeoTIFF ProjCoordTransGeoKey %d (%s) is not supported", ErrUnsupported, ct, name)
	}
	c.X0, c.Y0 = fe*c.Unit, fn*c.Unit
	if _, err := c.projector(); err != nil {
		return nil, err
	}
	identify(c)
	return c, nil
}

// geographicFromKeys returns the geographic CRS (datum, ellipsoid) of the keys.
func geographicFromKeys(k tiff.GeoKeys) (*CRS, error) {
	if u, ok := k.Short[tiff.GeogAngularUnitsGeoKey]; ok && u != unitDegree {
		return nil, fmt.Errorf("%w: GeogAngularUnitsGeoKey %d (only degrees, 9102)", ErrUnsupported, u)
	}
	if pm, ok := k.Short[tiff.GeogPrimeMeridianGeoKey]; ok && pm != pmGreenwich && pm != tiff.UserDefined {
		return nil, fmt.Errorf("%w: prime meridian %d", ErrUnsupported, pm)
	}
	if v := k.Double[tiff.GeogPrimeMeridianLongGeoKey]; len(v) > 0 && v[0] != 0 {
		return nil, fmt.Errorf("%w: prime meridian longitude %v", ErrUnsupported, v[0])
	}
	if g, ok := k.Short[tiff.GeographicTypeGeoKey]; ok && g != tiff.UserDefined && g != 0 {
		if c, ok := geographicEPSG(int(g)); ok {
			return c, nil
		}
		// Unknown geographic code: fall back to the ellipsoid keys.
	}
	c := &CRS{Projection: LongLat, Ellipsoid: WGS84, Name: k.ASCII[tiff.GeogCitationGeoKey]}
	if dat, ok := k.Short[tiff.GeogGeodeticDatumGeoKey]; ok {
		for _, g := range geodetics {
			if uint16(g.datumCode) == dat {
				c.Datum, c.Ellipsoid = g.datum, g.ell
			}
		}
	}
	if e, ok := ellipsoidCodes[k.Short[tiff.GeogEllipsoidGeoKey]]; ok {
		c.Ellipsoid = e
	} else if a := k.Double[tiff.GeogSemiMajorAxisGeoKey]; len(a) > 0 {
		e := Ellipsoid{A: a[0]}
		if rf := k.Double[tiff.GeogInvFlatteningGeoKey]; len(rf) > 0 {
			e.InvF = rf[0]
		} else if b := k.Double[tiff.GeogSemiMinorAxisGeoKey]; len(b) > 0 && b[0] != a[0] {
			e.InvF = a[0] / (a[0] - b[0])
		}
		for _, known := range []Ellipsoid{WGS84, GRS80} {
			if known.equal(e) {
				e = known
			}
		}
		c.Ellipsoid = e
	} else if _, ok := k.Short[tiff.GeographicTypeGeoKey]; ok && c.Datum == "" {
		return nil, fmt.Errorf("%w: geographic CRS %d without ellipsoid keys", ErrUnsupported, k.Short[tiff.GeographicTypeGeoKey])
	}
	if !(c.Ellipsoid.A > 0) || math.IsInf(c.Ellipsoid.A, 0) {
		return nil, fmt.Errorf("%w: bad semi-major axis %v", ErrUnsupported, c.Ellipsoid.A)
	}
	return c, nil
}

func linearUnitFromKeys(k tiff.GeoKeys) (float64, error) {
	u, ok := k.Short[tiff.ProjLinearUnitsGeoKey]
	if !ok {
		return 1, nil
	}
	if f, ok := linearUnits[u]; ok {
		return f, nil
	}
	if v := k.Double[projLinearUnitSizeGeoKey]; u == tiff.UserDefined && len(v) > 0 && v[0] > 0 {
		return v[0], nil
	}
	return 0, fmt.Errorf("%w: ProjLinearUnitsGeoKey %d", ErrUnsupported, u)
}

// GeoKeys returns GeoTIFF keys describing the CRS: the EPSG code when known,
// else the full user-defined description. GTRasterTypeGeoKey is
// RasterPixelIsArea.
func (c *CRS) GeoKeys() tiff.GeoKeys {
	k := tiff.GeoKeys{Short: map[uint16]uint16{}, Double: map[uint16][]float64{}, ASCII: map[uint16]string{}}
	k.Short[tiff.GTRasterTypeGeoKey] = tiff.RasterPixelIsArea
	if c.Name != "" {
		k.ASCII[tiff.GTCitationGeoKey] = c.Name
	}
	if c.Projection == LongLat {
		k.Short[tiff.GTModelTypeGeoKey] = tiff.ModelTypeGeographic
		c.geogKeys(k)
		return k
	}
	k.Short[tiff.GTModelTypeGeoKey] = tiff.ModelTypeProjected
	if c.EPSG != 0 && c.EPSG < tiff.UserDefined {
		k.Short[tiff.ProjectedCSTypeGeoKey] = uint16(c.EPSG)
		return k
	}
	c.geogKeys(k)
	k.Short[tiff.ProjectedCSTypeGeoKey] = tiff.UserDefined
	k.Short[tiff.ProjectionGeoKey] = tiff.UserDefined
	u := c.unit()
	k.Short[tiff.ProjLinearUnitsGeoKey] = tiff.UserDefined
	for code, f := range linearUnits {
		if f == u {
			k.Short[tiff.ProjLinearUnitsGeoKey] = code
		}
	}
	if k.Short[tiff.ProjLinearUnitsGeoKey] == tiff.UserDefined {
		k.Double[projLinearUnitSizeGeoKey] = []float64{u}
	}
	set := func(id uint16, v float64) { k.Double[id] = []float64{v} }
	fe, fn := c.X0/u, c.Y0/u
	switch c.Projection {
	case TransverseMercator, Mercator, LCC1SP:
		ct := map[Projection]uint16{TransverseMercator: ctTransverseMercator, Mercator: ctMercator, LCC1SP: ctLCC1SP}[c.Projection]
		k.Short[tiff.ProjCoordTransGeoKey] = ct
		set(tiff.ProjNatOriginLongGeoKey, c.Lon0)
		set(tiff.ProjNatOriginLatGeoKey, c.Lat0)
		set(tiff.ProjScaleAtNatOriginGeoKey, c.k0())
		set(tiff.ProjFalseEastingGeoKey, fe)
		set(tiff.ProjFalseNorthingGeoKey, fn)
		if c.Projection == Mercator && c.Lat1 != 0 {
			set(tiff.ProjStdParallel1GeoKey, c.Lat1)
		}
	case LCC2SP:
		k.Short[tiff.ProjCoordTransGeoKey] = ctLCC2SP
		set(tiff.ProjStdParallel1GeoKey, c.Lat1)
		set(tiff.ProjStdParallel2GeoKey, c.Lat2)
		set(tiff.ProjFalseOriginLongGeoKey, c.Lon0)
		set(tiff.ProjFalseOriginLatGeoKey, c.Lat0)
		set(tiff.ProjFalseOriginEastingGeoKey, fe)
		set(tiff.ProjFalseOriginNorthingGeoKey, fn)
		if c.k0() != 1 {
			set(tiff.ProjScaleAtNatOriginGeoKey, c.k0())
		}
	}
	return k
}

// geogKeys writes the geographic part of the keys.
func (c *CRS) geogKeys(k tiff.GeoKeys) {
	if code := geogCodeOf(c.Datum); code != 0 && geodetics[code].ell.equal(c.Ellipsoid) {
		k.Short[tiff.GeographicTypeGeoKey] = uint16(code)
		return
	}
	k.Short[tiff.GeographicTypeGeoKey] = tiff.UserDefined
	k.Short[tiff.GeogGeodeticDatumGeoKey] = tiff.UserDefined
	if code := geogCodeOf(c.Datum); code != 0 {
		k.Short[tiff.GeogGeodeticDatumGeoKey] = uint16(geodetics[code].datumCode)
	}
	k.Short[tiff.GeogPrimeMeridianGeoKey] = pmGreenwich
	k.Short[tiff.GeogAngularUnitsGeoKey] = unitDegree
	k.Short[tiff.GeogEllipsoidGeoKey] = tiff.UserDefined
	for code, e := range ellipsoidCodes {
		if e.equal(c.Ellipsoid) && e.Name == c.Ellipsoid.Name {
			k.Short[tiff.GeogEllipsoidGeoKey] = code
		}
	}
	k.Double[tiff.GeogSemiMajorAxisGeoKey] = []float64{c.Ellipsoid.A}
	k.Double[tiff.GeogInvFlatteningGeoKey] = []float64{c.Ellipsoid.InvF}
}

package tiff

import "fmt"

// DType is a pixel data type. Pixel buffers exchanged with this package are
// little-endian byte slices of these types, so they can be handed to Arrow
// without copying.
type DType uint8

const (
	Invalid DType = iota
	Uint8
	Int8
	Uint16
	Int16
	Uint32
	Int32
	Float32
	Float64
)

var dtypeNames = [...]string{"invalid", "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size is the size of one sample in bytes.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// ParseDType parses a name as returned by DType.String.
func ParseDType(s string) (DType, error) {
	for i, n := range dtypeNames {
		if i > 0 && n == s {
			return DType(i), nil
		}
	}
	return Invalid, fmt.Errorf("tiff: unknown data type %q", s)
}

// GeoKeys is a decoded GeoKeyDirectory (GeoTIFF 1.1 section 7): each key
// holds a SHORT value, DOUBLE values or an ASCII string.
type GeoKeys struct {
	Short  map[uint16]uint16
	Double map[uint16][]float64
	ASCII  map[uint16]string
}

// EPSG returns the projected or geographic CRS code, or 0 when the CRS is
// user-defined or absent.
func (k GeoKeys) EPSG() int {
	if v, ok := k.Short[ProjectedCSTypeGeoKey]; ok && v != UserDefined && v != 0 {
		return int(v)
	}
	if k.Short[GTModelTypeGeoKey] == ModelTypeProjected {
		return 0
	}
	if v, ok := k.Short[GeographicTypeGeoKey]; ok && v != UserDefined && v != 0 {
		return int(v)
	}
	return 0
}

// Georef is a raster's georeferencing.
type Georef struct {
	Keys GeoKeys
	// Transform maps pixel corner (col,row) to CRS coordinates in GDAL's
	// order: x = T0 + col*T1 + row*T2, y = T3 + col*T4 + row*T5.
	Transform    [6]float64
	HasTransform bool
	// PixelIsPoint records GTRasterTypeGeoKey = RasterPixelIsPoint; Transform
	// is already shifted by half a pixel as GDAL does.
	PixelIsPoint bool
}

package tiff

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
)

// Metadata is the content of GDAL's private GDAL_METADATA tag (an XML
// document of <Item name= sample= role= domain=> elements). Only the default
// metadata domain is kept.
type Metadata struct {
	// Items are dataset-level items (no sample attribute).
	Items map[string]string `json:"items,omitempty"`
	// Bands holds per-band metadata, indexed by 0-based band; it may be
	// shorter than the number of bands.
	Bands []BandMetadata `json:"bands,omitempty"`
}

// BandMetadata is one band's GDAL metadata.
type BandMetadata struct {
	Description string            `json:"description,omitempty"`
	Scale       *float64          `json:"scale,omitempty"`
	Offset      *float64          `json:"offset,omitempty"`
	Unit        string            `json:"unit,omitempty"`
	Items       map[string]string `json:"items,omitempty"`
}

type gdalMetadataXML struct {
	Items []struct {
		Name   string `xml:"name,attr"`
		Sample *int   `xml:"sample,attr"`
		Role   string `xml:"role,attr"`
		Domain string `xml:"domain,attr"`
		Value  string `xml:",chardata"`
	} `xml:"Item"`
}

const maxMetaBands = 1 << 16

// parseMetadata decodes GDAL_METADATA. Malformed XML is ignored, as GDAL
// does (with a warning), since pixels remain readable.
func parseMetadata(s string) Metadata {
	var m Metadata
	if s == "" {
		return m
	}
	var doc gdalMetadataXML
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		return m
	}
	for _, it := range doc.Items {
		if it.Domain != "" {
			continue
		}
		if it.Sample == nil {
			if it.Role == "" {
				if m.Items == nil {
					m.Items = map[string]string{}
				}
				m.Items[it.Name] = it.Value
			}
			continue
		}
		b := *it.Sample
		if b < 0 || b >= maxMetaBands {
			continue
		}
		for len(m.Bands) <= b {
			m.Bands = append(m.Bands, BandMetadata{})
		}
		bm := &m.Bands[b]
		switch it.Role {
		case "description":
			bm.Description = it.Value
		case "scale":
			if v, err := strconv.ParseFloat(strings.TrimSpace(it.Value), 64); err == nil {
				bm.Scale = &v
			}
		case "offset":
			if v, err := strconv.ParseFloat(strings.TrimSpace(it.Value), 64); err == nil {
				bm.Offset = &v
			}
		case "unittype":
			bm.Unit = it.Value
		case "":
			if bm.Items == nil {
				bm.Items = map[string]string{}
			}
			bm.Items[it.Name] = it.Value
		}
	}
	return m
}

// parseNodata parses GDAL_NODATA ("0", "-3.4028234663852886e+38", "nan").
func parseNodata(s string) *float64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		err = nil // ±Inf or 0, as C's strtod gives
	}
	if err != nil {
		// strconv rejects some C spellings; accept what GDAL's CPLAtof does.
		switch strings.ToLower(s) {
		case "-nan", "nan(ind)":
			v = math.NaN()
		default:
			return nil
		}
	}
	return &v
}

func itoa(i int) string { return strconv.Itoa(i) }

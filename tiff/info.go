package tiff

import (
	"fmt"
	"strconv"
	"strings"
)

// Info is a JSON-ready summary of a file's first full-resolution image.
type Info struct {
	Width       int         `json:"width"`
	Height      int         `json:"height"`
	Bands       int         `json:"bands"`
	DType       string      `json:"dtype"`
	CRS         string      `json:"crs,omitempty"`
	EPSG        int         `json:"epsg,omitempty"`
	Transform   *[6]float64 `json:"transform,omitempty"`
	Nodata      *float64    `json:"nodata,omitempty"`
	Compression string      `json:"compression"`
	Predictor   int         `json:"predictor"`
	Tiled       bool        `json:"tiled"`
	// Tile is the block size: the tile size, or [width, rows per strip].
	Tile       [2]int   `json:"tile"`
	Interleave string   `json:"interleave"` // "pixel" or "band"
	Overviews  [][2]int `json:"overviews,omitempty"`
	Mask       bool     `json:"mask,omitempty"`
	Alpha      int      `json:"alpha"` // 0-based alpha band, or -1
	Palette    bool     `json:"palette,omitempty"`
	BigTIFF    bool     `json:"bigtiff,omitempty"`
	Metadata   Metadata `json:"metadata"`
	// COG reports the cloud-optimised layout, checked with the rules of
	// GDAL's validate_cloud_optimized_geotiff.py; COGErrors says why not.
	COG       bool     `json:"cog"`
	COGErrors []string `json:"cog_errors,omitempty"`
	Images    int      `json:"images,omitempty"` // full-resolution images, when more than one
}

// Info summarises the file's first full-resolution image.
func (f *File) Info() Info {
	im := f.Images[0]
	in := Info{
		Width: im.Width, Height: im.Height, Bands: im.Bands, DType: im.DType.String(),
		CRS: im.Geo.Keys.CRS(), EPSG: im.Geo.Keys.EPSG(), Nodata: im.Nodata,
		Compression: compressionName(im.Compression), Predictor: im.Predictor,
		Tiled: im.Tiled, Tile: [2]int{im.BlockW, im.BlockH}, Interleave: "pixel",
		Mask: im.Mask != nil, Alpha: im.Alpha, Palette: im.ColorMap != nil,
		BigTIFF: f.BigTIFF, Metadata: im.Meta,
	}
	if im.Planar || im.Bands == 1 {
		in.Interleave = "band"
	}
	if im.Geo.HasTransform {
		t := im.Geo.Transform
		in.Transform = &t
	}
	for _, o := range im.Overviews {
		in.Overviews = append(in.Overviews, [2]int{o.Width, o.Height})
	}
	in.COGErrors = f.COGErrors()
	in.COG = len(in.COGErrors) == 0
	if len(f.Images) > 1 {
		in.Images = len(f.Images)
	}
	return in
}

// COGErrors checks the first image against the cloud-optimised GeoTIFF
// layout rules of GDAL's validate_cloud_optimized_geotiff.py: tiled when
// larger than 512 pixels, main IFD right after the header (or after GDAL's
// ghost structural metadata), overviews by decreasing size with increasing
// IFD offsets, all IFDs before the image data, and the data of smaller
// overviews before that of larger ones, the main image last. It returns
// nil for a valid layout.
func (f *File) COGErrors() []string {
	var errs []string
	im := f.Images[0]
	notTiled := func(x *Image) bool { return x.BlockW == x.Width && x.BlockW > 1024 }
	if (im.Width > 512 || im.Height > 512) && notTiled(im) {
		errs = append(errs, "the file is greater than 512xH or Wx512, but is not tiled")
	}
	hdr := int64(8)
	if f.BigTIFF {
		hdr = 16
	}
	if im.ifdOffset != hdr {
		want := hdr
		if f.ghostSize >= 0 {
			want += int64(len("GDAL_STRUCTURAL_METADATA_SIZE=000000 bytes\n")) + f.ghostSize
			want += want % 2
		}
		if im.ifdOffset != want {
			errs = append(errs, fmt.Sprintf("the offset of the main IFD should be %d, it is %d", want, im.ifdOffset))
		}
	}
	levels := append([]*Image{im}, im.Overviews...)
	for i := 1; i < len(levels); i++ {
		o, p := levels[i], levels[i-1]
		if o.Width > p.Width || o.Height > p.Height {
			errs = append(errs, fmt.Sprintf("overview %d is larger than the level before it", i-1))
		}
		if notTiled(o) {
			errs = append(errs, fmt.Sprintf("overview %d is not tiled", i-1))
		}
		if o.ifdOffset < p.ifdOffset {
			errs = append(errs, fmt.Sprintf("the IFD of overview %d comes before the IFD of the level before it", i-1))
		}
	}
	data := make([]uint64, len(levels))
	for i, l := range levels {
		for k, off := range l.offsets {
			if off != 0 && l.counts[k] != 0 {
				data[i] = off
				break
			}
		}
	}
	last := len(levels) - 1
	if data[last] != 0 && data[last] < uint64(levels[last].ifdOffset) {
		errs = append(errs, "the first block of the smallest level is before its IFD")
	}
	for i := last - 1; i >= 1; i-- {
		if data[i] != 0 && data[i] < data[i+1] {
			errs = append(errs, fmt.Sprintf("the data of overview %d is before that of overview %d", i-1, i))
		}
	}
	if len(data) >= 2 && data[0] != 0 && data[0] < data[1] {
		errs = append(errs, "the data of the main image is before that of the last overview")
	}
	return errs
}

// parseGhost reads GDAL's ghost header ("GDAL_STRUCTURAL_METADATA_SIZE=...")
// if present after the file header; it returns its size or -1.
func (r *reader) parseGhost() int64 {
	pos := 8
	if r.big {
		pos = 16
	}
	const key = "GDAL_STRUCTURAL_METADATA_SIZE="
	if len(r.head) < pos+len(key)+6 || string(r.head[pos:pos+len(key)]) != key {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(r.head[pos+len(key) : pos+len(key)+6])))
	if err != nil {
		return -1
	}
	return int64(n)
}

#!/usr/bin/python3
"""Write small GeoTIFF fixtures (testdata/fixtures/*.tif) with GDAL, covering
layouts the real data set lacks: other data types, big-endian with
predictors, planar with predictors, PixelIsPoint, a rotated
ModelTransformation, sparse tiles, 1-bit data, masks with overviews, GDAL
metadata. Pixels come from a crop of the real Sentinel-2 B04 band.

    /usr/bin/python3 tiff/testdata/gen_fixtures.py
"""
import os

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "real", "s2-l2a-29rkh", "B04.tif"))
OUT = os.path.join(HERE, "fixtures")
W, H = 67, 45

src = gdal.Open(SRC)
base = src.GetRasterBand(1).ReadAsArray(600, 300, W, H).astype(np.float64)
gt0 = src.GetGeoTransform()
gt = (gt0[0] + 600 * gt0[1], gt0[1], 0, gt0[3] + 300 * gt0[5], 0, gt0[5])
srs = src.GetSpatialRef()


def write(name, dtype, arrays, opts, gt=gt, nodata=None, point=False, meta=None, descs=None,
          scale=None, mask=None, ovr=None, sparse_skip=False):
    path = os.path.join(OUT, name + ".tif")
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(path, W, H, len(arrays), dtype, opts)
    if point:
        ds.SetMetadataItem("AREA_OR_POINT", "Point")
    ds.SetGeoTransform(gt)
    ds.SetSpatialRef(srs)
    for k, v in (meta or {}).items():
        ds.SetMetadataItem(k, v)
    for i, a in enumerate(arrays):
        b = ds.GetRasterBand(i + 1)
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if descs:
            b.SetDescription(descs[i])
        if scale:
            b.SetScale(scale[0])
            b.SetOffset(scale[1])
        if sparse_skip:
            b.WriteArray(a[:16, :32])  # only the first tile; the rest stays sparse
        else:
            b.WriteArray(a)
    if mask is not None:
        ds.CreateMaskBand(gdal.GMF_PER_DATASET)
        ds.GetRasterBand(1).GetMaskBand().WriteArray(mask)
    if ovr:
        ds.BuildOverviews("NEAREST", ovr)
    ds = None
    print(name)


os.makedirs(OUT, exist_ok=True)
tiled = ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=16"]
strips = ["BLOCKYSIZE=8"]
d = base - base.mean()
write("i8_deflate_pred2_tiled", gdal.GDT_Byte, [np.clip(d / 20, -128, 127).astype(np.int8)],
      tiled + ["COMPRESS=DEFLATE", "PREDICTOR=2", "PIXELTYPE=SIGNEDBYTE"])
write("u32_lzw_pred2_bigendian_tiled", gdal.GDT_UInt32, [(base * 70000).astype(np.uint32)],
      tiled + ["COMPRESS=LZW", "PREDICTOR=2", "ENDIANNESS=BIG"], nodata=0)
write("i32_zstd_pred2_planar_striped", gdal.GDT_Int32, [(d * k).astype(np.int32) for k in (1, -3, 1000)],
      strips + ["COMPRESS=ZSTD", "PREDICTOR=2", "INTERLEAVE=BAND"], nodata=-2147483648)
write("f64_deflate_pred3_pixel_bigendian_tiled", gdal.GDT_Float64, [base / 1e4, np.sqrt(base)],
      tiled + ["COMPRESS=DEFLATE", "PREDICTOR=3", "INTERLEAVE=PIXEL", "ENDIANNESS=BIG"], nodata=float("nan"))
write("f32_lzw_pred3_pixel_striped", gdal.GDT_Float32, [base / 1e4, -base, base * 3.5],
      strips + ["COMPRESS=LZW", "PREDICTOR=3", "INTERLEAVE=PIXEL"],
      descs=["red", "minus red", "scaled"], scale=(1e-4, -0.1), meta={"PRODUCT": "fixture", "KEY": "a b"})
write("u16_lzw_pred2_pixel_bigendian_striped", gdal.GDT_UInt16, [base, base[::-1], base[:, ::-1]],
      strips + ["COMPRESS=LZW", "PREDICTOR=2", "INTERLEAVE=PIXEL", "ENDIANNESS=BIG"])
write("u8_packbits_planar_tiled", gdal.GDT_Byte, [(base / 40).astype(np.uint8), (base % 256).astype(np.uint8)],
      tiled + ["COMPRESS=PACKBITS", "INTERLEAVE=BAND"])
write("u16_pixelispoint", gdal.GDT_UInt16, [base], strips, point=True)
write("u16_rotated_transform_bigtiff_bigendian", gdal.GDT_UInt16, [base], tiled + ["BIGTIFF=YES", "ENDIANNESS=BIG", "COMPRESS=DEFLATE"],
      gt=(gt[0], 80.0, 60.0, gt[3], 60.0, -80.0))
write("u16_sparse_tiled", gdal.GDT_UInt16, [base], tiled + ["SPARSE_OK=TRUE", "COMPRESS=DEFLATE"], nodata=7, sparse_skip=True)
write("u8_nbits1_deflate", gdal.GDT_Byte, [(base > base.mean()).astype(np.uint8)], strips + ["NBITS=1", "COMPRESS=DEFLATE"])
gdal.SetConfigOption("GDAL_TIFF_INTERNAL_MASK", "YES")
write("u16_mask_overviews_tiled", gdal.GDT_UInt16, [base, base * 2], tiled + ["COMPRESS=ZSTD", "INTERLEAVE=PIXEL"],
      mask=((base % 7) > 1).astype(np.uint8) * 255, ovr=[2, 4])

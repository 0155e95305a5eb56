#!/usr/bin/python3
"""Write testdata/golden/<name>.json for every ../shared/data/real/**.tif
and every testdata/fixtures/*.tif, describing each file as GDAL reads it. Run from anywhere with
/usr/bin/python3 (needs the osgeo bindings):

    /usr/bin/python3 tiff/testdata/gen_golden.py

<name> is the path below data/real with '/' replaced by '__' and no .tif,
or fixture__<name> for fixtures.
"""
import glob
import hashlib
import json
import os
import sys

from osgeo import gdal, osr
from osgeo_utils.samples import validate_cloud_optimized_geotiff as vcog

gdal.UseExceptions()
gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "real"))
OUT = os.path.join(HERE, "golden")
FIXTURES = os.path.join(HERE, "fixtures")

DTYPES = {"Byte": "uint8", "Int8": "int8", "UInt16": "uint16", "Int16": "int16",
          "UInt32": "uint32", "Int32": "int32", "Float32": "float32", "Float64": "float64"}
UNSUPPORTED = {"JPEG", "YCbCr JPEG", "WEBP", "LERC", "LERC_DEFLATE", "LERC_ZSTD", "LZMA", "JXL", "OJPEG"}


def sha(band):
    return hashlib.sha256(band.ReadRaster()).hexdigest()


def describe(path, root):
    ds = gdal.Open(path)
    comp = ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") or "NONE"
    b1 = ds.GetRasterBand(1)
    g = {
        "file": os.path.relpath(path, root),
        "root": "fixtures" if root == FIXTURES else "real",
        "width": ds.RasterXSize,
        "height": ds.RasterYSize,
        "bands": ds.RasterCount,
        "compression": comp,
    }
    if comp in UNSUPPORTED:
        g["unsupported"] = True
        return g
    dt = gdal.GetDataTypeName(b1.DataType)
    if b1.GetMetadataItem("NBITS", "IMAGE_STRUCTURE"):
        dt = "nbits"
    if b1.GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE") == "SIGNEDBYTE":
        dt = "Int8"
    g["dtype"] = DTYPES.get(dt, dt)
    gt = ds.GetGeoTransform(can_return_null=True)
    g["transform"] = list(gt) if gt else None
    srs = ds.GetSpatialRef()
    g["epsg"] = None
    g["crs_name"] = None
    if srs is not None:
        key = "PROJCS" if srs.IsProjected() else "GEOGCS"
        code = srs.GetAuthorityCode(key)
        if code and srs.GetAuthorityName(key) == "EPSG":
            g["epsg"] = int(code)
        g["crs_name"] = srs.GetName()
    nd = b1.GetNoDataValue()
    g["nodata"] = None if nd is None else (repr(nd) if nd != nd else nd)
    g["band_sha256"] = [sha(ds.GetRasterBand(i + 1)) for i in range(ds.RasterCount)]
    g["overviews"] = [[b1.GetOverview(i).XSize, b1.GetOverview(i).YSize, sha(b1.GetOverview(i))]
                      for i in range(b1.GetOverviewCount())]
    g["mask_sha256"] = None
    if b1.GetMaskFlags() == gdal.GMF_PER_DATASET:
        g["mask_sha256"] = sha(b1.GetMaskBand())
    g["alpha"] = -1
    for i in range(ds.RasterCount):
        if ds.GetRasterBand(i + 1).GetColorInterpretation() == gdal.GCI_AlphaBand:
            g["alpha"] = i
            break
    ct = b1.GetColorTable()
    g["palette_len"] = 0
    g["palette_sha256"] = None
    if ct is not None:
        rgb = bytes(v for i in range(ct.GetCount()) for v in ct.GetColorEntry(i)[:3])
        g["palette_len"] = ct.GetCount()
        g["palette_sha256"] = hashlib.sha256(rgb).hexdigest()
    g["descriptions"] = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
    g["scales"] = [ds.GetRasterBand(i + 1).GetScale() for i in range(ds.RasterCount)]
    g["offsets"] = [ds.GetRasterBand(i + 1).GetOffset() for i in range(ds.RasterCount)]
    g["metadata"] = ds.GetMetadata() or {}
    try:
        res = vcog.validate(ds)
        # GDAL >= 3.2 returns (warnings, errors, details), older (errors, details).
        errors = res[1] if len(res) == 3 else res[0]
    except Exception as e:  # not a GeoTIFF GDAL can validate
        errors = [str(e)]
    g["cog"] = len(errors) == 0
    return g


def main():
    os.makedirs(OUT, exist_ok=True)
    files = sorted(glob.glob(os.path.join(DATA, "**", "*.tif"), recursive=True))
    if not files:
        sys.exit("no files under " + DATA)
    jobs = [(p, DATA, "") for p in files]
    jobs += [(p, FIXTURES, "fixture__") for p in sorted(glob.glob(os.path.join(FIXTURES, "*.tif")))]
    for path, root, prefix in jobs:
        name = prefix + os.path.relpath(path, root)[:-4].replace(os.sep, "__")
        with open(os.path.join(OUT, name + ".json"), "w") as fh:
            json.dump(describe(path, root), fh, indent=1, sort_keys=True)
            fh.write("\n")
        print(name)


if __name__ == "__main__":
    main()

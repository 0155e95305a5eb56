"""Reads a COG written by tiff.COGWriter with GDAL and prints a JSON report.

usage: cog_write_check.py FILE RESAMPLING BLOCKSIZE [noref]

Reports per-band SHA-256 of the full-resolution pixels (native little-endian
bytes), CRS, geotransform, nodata, colour table, overview sizes and SHA-256,
and compares each overview with the one GDAL's own COG driver makes from the
same full-resolution pixels (gdal.Translate -of COG -co OVERVIEW_RESAMPLING).
"""
import hashlib, json, sys
from osgeo import gdal, osr
import numpy as np

gdal.UseExceptions()
path, resampling, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
ds = gdal.Open(path)
b1 = ds.GetRasterBand(1)
out = {
    "size": [ds.RasterXSize, ds.RasterYSize, ds.RasterCount],
    "dtype": gdal.GetDataTypeName(b1.DataType),
    "bands": [hashlib.sha256(ds.GetRasterBand(i + 1).ReadRaster()).hexdigest() for i in range(ds.RasterCount)],
    "gt": list(ds.GetGeoTransform(can_return_null=True) or []),
    "epsg": None,
    "nodata": None,
    "colors": None,
    "descriptions": [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)],
    "structure": ds.GetMetadata("IMAGE_STRUCTURE"),
    "block": b1.GetBlockSize(),
}
srs = ds.GetSpatialRef()
if srs is not None:
    srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None)
    out["epsg"] = int(code) if code else None
nd = b1.GetNoDataValue()
if nd is not None:
    out["nodata"] = "nan" if nd != nd else nd
ct = b1.GetColorTable()
if ct is not None:
    out["colors"] = [list(ct.GetColorEntry(i)) for i in range(ct.GetCount())]

ovr = []
for i in range(b1.GetOverviewCount()):
    o = b1.GetOverview(i)
    h = hashlib.sha256()
    for b in range(ds.RasterCount):
        h.update(ds.GetRasterBand(b + 1).GetOverview(i).ReadRaster())
    ovr.append([o.XSize, o.YSize, h.hexdigest()])
out["overviews"] = ovr

if len(sys.argv) > 4 and sys.argv[4] == "noref":
    print(json.dumps(out))
    sys.exit(0)

# GDAL's reference COG from the same full-resolution pixels.
mem = gdal.GetDriverByName("MEM").Create("", ds.RasterXSize, ds.RasterYSize, ds.RasterCount, b1.DataType)
for i in range(ds.RasterCount):
    mb = mem.GetRasterBand(i + 1)
    mb.WriteArray(ds.GetRasterBand(i + 1).ReadAsArray())
    if nd is not None:
        mb.SetNoDataValue(nd)
ref = gdal.Translate("/vsimem/ref.tif", mem, format="COG",
                     creationOptions=["BLOCKSIZE=%d" % block, "OVERVIEW_RESAMPLING=" + resampling, "COMPRESS=NONE"])
rb = ref.GetRasterBand(1)
cmp = {"ref_overviews": rb.GetOverviewCount(), "levels": []}
for i in range(min(rb.GetOverviewCount(), b1.GetOverviewCount())):
    lv = {"mismatch": 0, "pixels": 0, "max_abs": 0.0, "size_equal": True}
    for b in range(ds.RasterCount):
        a = ds.GetRasterBand(b + 1).GetOverview(i).ReadAsArray().astype(np.float64)
        r = ref.GetRasterBand(b + 1).GetOverview(i).ReadAsArray().astype(np.float64)
        if a.shape != r.shape:
            lv["size_equal"] = False
            continue
        same = (a == r) | (np.isnan(a) & np.isnan(r))
        lv["mismatch"] += int((~same).sum())
        lv["pixels"] += int(a.size)
        d = np.abs(a - r)[~same]
        d = d[~np.isnan(d)]
        if d.size:
            lv["max_abs"] = max(lv["max_abs"], float(d.max()))
    cmp["levels"].append(lv)
out["reference"] = cmp
print(json.dumps(out))

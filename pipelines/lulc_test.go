package pipelines_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/tiff"
	"github.com/rasterflow/rasterflow/transport"
)

const realData = "../../shared/data/real"

func run(t *testing.T, file string, vars map[string]string) {
	t.Helper()
	p, err := graph.LoadFile(file, graph.Options{Registry: operators.Registry(), Vars: vars, MaxPayload: transport.MaxEmbeddedPayload})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := engine.RunLocal(ctx, p, engine.Options{Log: t.Logf}); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func readReport(t *testing.T, path string) operators.TrainReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r operators.TrainReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLULCSynthetic trains and predicts on a synthetic scene with the
// shipped pipelines and checks the class COG.
func TestLULCSynthetic(t *testing.T) {
	dir := t.TempDir()
	model, report, out := filepath.Join(dir, "m.rf"), filepath.Join(dir, "r.json"), filepath.Join(dir, "classes.tif")
	vars := map[string]string{"scene": "synth://768/3", "model": model, "report": report, "out": out,
		"preview": filepath.Join(dir, "p.png"), "samples": "20000", "trees": "20", "depth": "12"}
	run(t, "lulc-train.yaml", vars)
	rep := readReport(t, report)
	if rep.Validation == nil || rep.Validation.Accuracy < 0.6 {
		t.Fatalf("validation: %+v", rep.Validation)
	}
	t.Logf("synthetic: accuracy %.4f kappa %.4f", rep.Validation.Accuracy, rep.Validation.Kappa)
	run(t, "lulc-predict.yaml", vars)
	f, err := tiff.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info := f.Info()
	if !info.COG || info.Width != 768 || info.DType != "uint8" || !info.Palette || info.Nodata == nil || *info.Nodata != 0 || info.EPSG != 32633 {
		t.Fatalf("class COG: %+v", info)
	}
	if _, err := os.Stat(filepath.Join(dir, "r-confusion.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p.png")); err != nil {
		t.Fatal(err)
	}
}

// landsatVars configures the LULC pipelines for the Landsat 7 + landclass96
// pair: six DN bands and a label raster on a grid offset from the bands'.
func landsatVars(dir string) map[string]string {
	return map[string]string{
		"scene":         filepath.Join(realData, "landsat7-nc-landclass96"),
		"bands":         "B1,B2,B3,B4,B5,B7,label",
		"read.files":    "{B1: lsat7_2000_10.tif, B2: lsat7_2000_20.tif, B3: lsat7_2000_30.tif, B4: lsat7_2000_40.tif, B5: lsat7_2000_50.tif, B7: lsat7_2000_70.tif, label: landclass96.tif}",
		"grid":          "B1",
		"masked":        "B1,B2,B3,B4,B5,B7",
		"offset":        "0",
		"indices.bands": "{blue: B1, green: B2, red: B3, nir: B4, swir1: B5, swir2: B7}",
		"features":      "B1,B2,B3,B4,B5,B7,ndvi,ndwi",
		"samples":       "100000",
		"trees":         "100",
		"depth":         "0",
		"model":         filepath.Join(dir, "landsat.rf"),
		"report":        filepath.Join(dir, "landsat.json"),
		"out":           filepath.Join(dir, "landsat-classes.tif"),
		"preview":       filepath.Join(dir, "landsat.png"),
	}
}

// TestLULCLandsatVsSklearn trains on the real Landsat 7 + land-class pair
// (label grid offset from the image grid, aligned by the reader) and
// compares the validation accuracy with scikit-learn's on the very same
// aligned samples.
func TestLULCLandsatVsSklearn(t *testing.T) {
	if _, err := os.Stat(realData); err != nil {
		t.Skip("../shared/data/real is absent: no real data to test on")
	}
	dir := t.TempDir()
	vars := landsatVars(dir)
	samples := filepath.Join(dir, "samples.csv")
	vars["train.samples_out"] = samples
	run(t, "lulc-train.yaml", vars)
	rep := readReport(t, vars["report"])
	acc := rep.Validation.Accuracy
	t.Logf("rasterflow: %d train / %d validation samples, accuracy %.4f, kappa %.4f", rep.TrainSamples, rep.ValSamples, acc, rep.Validation.Kappa)
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 for the scikit-learn comparison")
	}
	script := `
import sys, numpy as np
from sklearn.ensemble import RandomForestClassifier
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
X, y, s = d[:, :-2], d[:, -2].astype(int), d[:, -1].astype(int)
clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=42, max_features="sqrt").fit(X[s == 0], y[s == 0])
print((clf.predict(X[s == 1]) == y[s == 1]).mean())
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, samples).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named") {
			t.Skipf("scikit-learn is not installed: %s", out)
		}
		t.Fatalf("sklearn: %v\n%s", err, out)
	}
	sk, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("sklearn output %q", out)
	}
	t.Logf("scikit-learn on the same samples: accuracy %.4f (rasterflow %.4f, difference %+.2f points)", sk, acc, 100*(acc-sk))
	if acc < sk-0.01 {
		t.Fatalf("rasterflow accuracy %.4f is more than 1 point below scikit-learn's %.4f", acc, sk)
	}

	// Predict the scene and check the class COG with GDAL when present.
	delete(vars, "train.samples_out")
	run(t, "lulc-predict.yaml", vars)
	f, err := tiff.OpenFile(vars["out"])
	if err != nil {
		t.Fatal(err)
	}
	info := f.Info()
	f.Close()
	if !info.COG || info.Width != 527 || info.Height != 475 || !info.Palette {
		t.Fatalf("class COG: %+v", info)
	}
	checkGDAL(t, vars["out"], filepath.Join(realData, "landsat7-nc-landclass96", "lsat7_2000_10.tif"))
}

// checkGDAL validates a class COG with GDAL's validator and compares its
// georeferencing with the reference raster's.
func checkGDAL(t *testing.T, path, ref string) {
	t.Helper()
	const validator = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py"
	if _, err := os.Stat(validator); err != nil {
		t.Log("GDAL's COG validator is absent: skipping the GDAL checks")
		return
	}
	if out, err := exec.Command("/usr/bin/python3", validator, path).CombinedOutput(); err != nil || !strings.Contains(string(out), "is a valid cloud optimized GeoTIFF") {
		t.Fatalf("validator: %v\n%s", err, out)
	}
	script := `
import sys, json
from osgeo import gdal, osr
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
sa, sb = osr.SpatialReference(a.GetProjection()), osr.SpatialReference(b.GetProjection())
ct = a.GetRasterBand(1).GetColorTable()
print(json.dumps({"same_crs": bool(sa.IsSame(sb)), "gt": a.GetGeoTransform(), "ref_gt": b.GetGeoTransform(),
  "nodata": a.GetRasterBand(1).GetNoDataValue(), "colors": ct.GetCount() if ct else 0}))
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, path, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("gdal: %v\n%s", err, out)
	}
	var g struct {
		SameCRS bool       `json:"same_crs"`
		GT      [6]float64 `json:"gt"`
		RefGT   [6]float64 `json:"ref_gt"`
		Nodata  *float64   `json:"nodata"`
		Colors  int        `json:"colors"`
	}
	if err := json.Unmarshal(out, &g); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !g.SameCRS || g.GT != g.RefGT || g.Nodata == nil || *g.Nodata != 0 || g.Colors < 101 {
		t.Fatalf("GDAL sees %s", fmt.Sprint(string(out)))
	}
}

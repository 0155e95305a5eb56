package pipelines_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rasterflow/rasterflow/tiff"
)

// TestWorldCoverToUTMMatchesGdalwarp reprojects the real WorldCover crop
// (EPSG:4326) onto a 10 m UTM 32N grid the way the LULC pipelines align
// labels — cog.read with the label on another band's grid, window by
// window — and compares the result with `gdalwarp -r near`.
func TestWorldCoverToUTMMatchesGdalwarp(t *testing.T) {
	src, _ := filepath.Abs(filepath.Join(realData, "worldcover-n00e006", "ESA_WorldCover_10m_2021_v200_N00E006_Map_saotome_2048.tif"))
	if _, err := os.Stat(src); err != nil {
		t.Skip("../shared/data/real is absent")
	}
	if _, err := exec.LookPath("gdalwarp"); err != nil {
		t.Skip("gdalwarp is not installed")
	}
	dir := t.TempDir()
	// GDAL's reprojection defines both the target grid and the expected labels.
	want := filepath.Join(dir, "gdalwarp.tif")
	if out, err := exec.Command("gdalwarp", "-q", "-t_srs", "EPSG:32632", "-tr", "10", "10", "-r", "near", "-of", "GTiff", src, want).CombinedOutput(); err != nil {
		t.Fatalf("gdalwarp: %v\n%s", err, out)
	}
	got := filepath.Join(dir, "{scene}-label.tif")
	run(t, "testdata/align-label.yaml", map[string]string{"grid": want, "label": src, "out": got})
	got = filepath.Join(dir, "scene-label.tif")
	a := readBand(t, got)
	b := readBand(t, want)
	if len(a) != len(b) {
		t.Fatalf("sizes differ: %d vs %d", len(a), len(b))
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	frac := float64(same) / float64(len(a))
	t.Logf("%d pixels, %.4f %% identical to gdalwarp -r near", len(a), 100*frac)
	if frac < 0.999 {
		t.Fatalf("only %.4f %% of pixels agree with gdalwarp (want ≥ 99.9 %%)", 100*frac)
	}
}

func readBand(t *testing.T, path string) []byte {
	t.Helper()
	f, err := tiff.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im := f.Images[0]
	px, err := im.ReadWindow(context.Background(), 0, 0, im.Width, im.Height, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	return px[0]
}

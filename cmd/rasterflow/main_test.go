package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestValidateExitCodes checks that validate exits 0 on a good pipeline and
// 1 with file:line:col messages on a broken one.
func TestValidateExitCodes(t *testing.T) {
	if code, out, errOut := runCLI(t, "validate", "../../pipelines/lulc.yaml"); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good pipeline: exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("pipeline: p\nstages:\n  - {id: s, op: synht}\n"), 0o644)
	code, _, errOut := runCLI(t, "validate", bad)
	if code != 1 || !strings.Contains(errOut, "bad.yaml:3:17: stage \"s\": unknown operator \"synht\"") || !strings.Contains(errOut, `did you mean "synth"?`) {
		t.Fatalf("bad pipeline: exit %d\n%s", code, errOut)
	}
	if code, _, _ := runCLI(t, "nosuchcommand"); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}

// TestSynthInfoConvert writes a synthetic scene, describes it with info
// and rewrites one band with convert.
func TestSynthInfoConvert(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "synth", dir, "--size", "300", "--seed", "2"); code != 0 {
		t.Fatalf("synth: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "info", filepath.Join(dir, "label.tif"))
	if code != 0 {
		t.Fatalf("info: exit %d\n%s", code, errOut)
	}
	var info struct {
		Width   int     `json:"width"`
		DType   string  `json:"dtype"`
		CRS     string  `json:"crs"`
		Nodata  float64 `json:"nodata"`
		COG     bool    `json:"cog"`
		Palette bool    `json:"palette"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if info.Width != 300 || info.DType != "uint8" || info.CRS != "EPSG:32633" || !info.COG || !info.Palette {
		t.Fatalf("info: %+v", info)
	}
	conv := filepath.Join(dir, "b04-zstd.tif")
	if code, _, errOut := runCLI(t, "convert", filepath.Join(dir, "B04.tif"), conv, "--compress", "zstd", "--blocksize", "128"); code != 0 {
		t.Fatalf("convert: exit %d\n%s", code, errOut)
	}
	_, out, _ = runCLI(t, "info", conv)
	if !strings.Contains(out, `"compression": "ZSTD"`) || !strings.Contains(out, `"cog": true`) {
		t.Fatalf("converted file: %s", out)
	}
}

// TestOperatorsListsEverySetting checks the operators listing.
func TestOperatorsListsEverySetting(t *testing.T) {
	code, out, _ := runCLI(t, "operators", "rf.train")
	if code != 0 || !strings.Contains(out, "max_depth") || !strings.Contains(out, "class_weight") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

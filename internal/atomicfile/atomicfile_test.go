package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A write replaces the target and removes temporary files that killed
// writers left behind, but not one a writer is still filling.
func TestWriteFileRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	stale := filepath.Join(dir, ".out.json.tmp-123")
	busy := filepath.Join(dir, ".out.json.tmp-456")
	other := filepath.Join(dir, ".other.json.tmp-789")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Minute)
		os.Chtimes(p, old, old)
	}
	if err := os.WriteFile(busy, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute) // still being written
	os.Chtimes(busy, future, future)
	if err := WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	for _, p := range []string{busy, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
}

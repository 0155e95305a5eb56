// Package atomicfile writes files so that readers never see them half
// written: data goes to a temporary file in the same folder, which is
// synced and then renamed over the target.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFile writes data to path atomically with permissions perm,
// creating the folder if needed. On error nothing is left behind.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	RemoveStale(path, "."+filepath.Base(path)+".tmp-", start)
	return nil
}

// RemoveStale removes the temporary files that earlier writers of path
// left behind when they were killed: files next to it named prefix*,
// last modified before the current write started (a writer still busy
// keeps its file newer than that). Errors are ignored: it only tidies.
func RemoveStale(path, prefix string, before time.Time) {
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

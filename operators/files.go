package operators

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place, so readers never see a half-written file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
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
	return nil
}

var unsafeScene = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// scenePath fills {scene} in a path template. The scene id is reduced to a
// safe file name, so no scene can write outside the template's folder.
func scenePath(template, scene string) (string, error) {
	name := unsafeScene.ReplaceAllString(scene, "_")
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("scene id %q cannot name a file", scene)
	}
	return strings.ReplaceAll(template, "{scene}", name), nil
}

// checkOutPath validates an output path template.
func checkOutPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty output path")
	}
	if strings.Count(p, "{scene}") > 1 || strings.Contains(filepath.Dir(p), "{scene}") {
		return fmt.Errorf("{scene} may appear once, in the file name only: %q", p)
	}
	return nil
}

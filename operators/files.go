package operators

import (
	"github.com/rasterflow/rasterflow/internal/atomicfile"

	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place, so readers never see a half-written file.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
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

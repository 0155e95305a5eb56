package forest

import "errors"

// Sentinel errors; returned errors wrap them (test with errors.Is).
var (
	ErrParams   = errors.New("forest: invalid parameters")
	ErrDataset  = errors.New("forest: invalid dataset")
	ErrShape    = errors.New("forest: shape mismatch")
	ErrFeatures = errors.New("forest: features do not match the model")
	ErrFormat   = errors.New("forest: malformed model file")
)

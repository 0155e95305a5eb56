package operators

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/rasterflow/rasterflow/forest"
)

// writeConfusionPNG draws the confusion matrix as a heat map: one cell per
// (truth row, predicted column), shaded by the row-normalised count, with
// a strip of each class's WorldCover colour along the top and left edges.
func writeConfusionPNG(path string, m *forest.Metrics, _ []string) error {
	k := len(m.Classes)
	const cell, edge = 40, 12
	size := edge + k*cell
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	cm := WorldCoverColorMap()
	for i, code := range m.Classes {
		c := cm[code]
		col := color.RGBA{uint8(c[0] >> 8), uint8(c[1] >> 8), uint8(c[2] >> 8), 255}
		if c == [3]uint16{} {
			col = color.RGBA{uint8(40 * i), 80, uint8(255 - 30*i), 255}
		}
		fillRect(img, edge+i*cell, 0, cell, edge, col)
		fillRect(img, 0, edge+i*cell, edge, cell, col)
	}
	for t := range k {
		var rowSum int64
		for p := range k {
			rowSum += m.Confusion[t][p]
		}
		for p := range k {
			f := 0.0
			if rowSum > 0 {
				f = float64(m.Confusion[t][p]) / float64(rowSum)
			}
			// White (0) to dark blue (1).
			col := color.RGBA{uint8(255 - 247*f), uint8(255 - 207*f), uint8(255 - 148*f), 255}
			fillRect(img, edge+p*cell+1, edge+t*cell+1, cell-2, cell-2, col)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

func fillRect(img *image.RGBA, x0, y0, w, h int, c color.RGBA) {
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

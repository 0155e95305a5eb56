package operators

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/op"
	"github.com/rasterflow/rasterflow/tiff"
)

var previewSpec = &op.Spec{
	Name: "preview",
	Kind: op.Sink,
	Doc: "Writes a PNG preview per scene: the listed uint8 class columns side by side (e.g. the predicted class map next " +
		"to the labels) in WorldCover colours, downsampled by nearest neighbour to at most `size` pixels a side.",
	Fields: []op.Field{
		{Name: "out", Type: op.String, Required: true, Doc: "PNG path; {scene} is replaced by the scene id"},
		{Name: "columns", Type: op.Strings, Default: []string{"class"}, Doc: "uint8 class columns to draw, left to right"},
		{Name: "size", Type: op.Int, Default: 512, Min: op.Bound(16), Max: op.Bound(4096), Doc: "largest side of each panel in pixels"},
	},
	Flow: func(cfg *op.Config, in []op.Schema) (op.Schema, error) {
		s := op.Merge(in)
		if err := s.Require(cfg.Strings("columns")...); err != nil {
			return s, &op.SettingError{Setting: "columns", Err: err}
		}
		for _, n := range cfg.Strings("columns") {
			if c, _ := s.Lookup(n); c.DType != tiff.Uint8 {
				return s, op.Errorf("columns", "%s is %v; previews draw uint8 class codes", n, c.DType)
			}
		}
		if err := checkOutPath(cfg.String("out")); err != nil {
			return s, &op.SettingError{Setting: "out", Err: err}
		}
		return op.Schema{}, nil
	},
	Needs: func(cfg *op.Config) []string { return cfg.Strings("columns") },
	New: func(cfg *op.Config, env op.Env) (any, error) {
		return &preview{out: cfg.String("out"), columns: cfg.Strings("columns"), size: cfg.Int("size"), scenes: map[string]*previewScene{}, log: env.Log}, nil
	},
}

type preview struct {
	out     string
	columns []string
	size    int
	log     func(string, ...any)
	mu      sync.Mutex
	scenes  map[string]*previewScene
}

type previewScene struct {
	w, h   int     // panel size
	step   float64 // scene pixels per panel pixel
	panels [][]uint8
}

func (p *preview) scene(m chunk.Meta) *previewScene {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.scenes[m.Scene]
	if !ok {
		step := max(1, float64(max(m.GridW, m.GridH))/float64(p.size))
		s = &previewScene{w: max(1, int(float64(m.GridW)/step)), h: max(1, int(float64(m.GridH)/step)), step: step}
		for range p.columns {
			s.panels = append(s.panels, make([]uint8, s.w*s.h))
		}
		p.scenes[m.Scene] = s
	}
	return s
}

func (p *preview) Process(ctx context.Context, c *chunk.Chunk, _ op.Emit) error {
	s := p.scene(c.Meta)
	win := c.Meta.Window
	for k, name := range p.columns {
		col, err := c.Column(name)
		if err != nil {
			return fmt.Errorf("preview: %w", err)
		}
		panel := s.panels[k]
		// Every panel pixel whose sample point falls in this window; windows
		// do not overlap, so each panel pixel is written by one chunk.
		for py := int(float64(win.Y) / s.step); py < s.h; py++ {
			sy := int(float64(py) * s.step)
			if sy >= win.Y+win.H {
				break
			}
			if sy < win.Y {
				continue
			}
			for px := int(float64(win.X) / s.step); px < s.w; px++ {
				sx := int(float64(px) * s.step)
				if sx >= win.X+win.W {
					break
				}
				if sx < win.X {
					continue
				}
				panel[py*s.w+px] = col.Data[(sy-win.Y)*win.W+(sx-win.X)]
			}
		}
	}
	return nil
}

func (p *preview) EndScene(ctx context.Context, scene string, _ op.Emit) error {
	p.mu.Lock()
	s := p.scenes[scene]
	delete(p.scenes, scene)
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	const gap = 8
	img := image.NewRGBA(image.Rect(0, 0, len(s.panels)*(s.w+gap)-gap, s.h))
	cm := WorldCoverColorMap()
	for k, panel := range s.panels {
		for y := 0; y < s.h; y++ {
			for x := 0; x < s.w; x++ {
				v := panel[y*s.w+x]
				c := cm[v]
				col := color.RGBA{uint8(c[0] >> 8), uint8(c[1] >> 8), uint8(c[2] >> 8), 255}
				if v == 0 {
					col = color.RGBA{0, 0, 0, 0}
				} else if c == [3]uint16{} {
					col = color.RGBA{uint8(v * 37), uint8(v * 91), uint8(v * 53), 255}
				}
				img.SetRGBA(k*(s.w+gap)+x, y, col)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	path, err := scenePath(p.out, scene)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	p.log("wrote %s", path)
	return nil
}

func (p *preview) AbortScene(scene string) {
	p.mu.Lock()
	delete(p.scenes, scene)
	p.mu.Unlock()
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/rasterflow/rasterflow/chunk"
	"github.com/rasterflow/rasterflow/geo"
	"github.com/rasterflow/rasterflow/operators"
	"github.com/rasterflow/rasterflow/synth"
	"github.com/rasterflow/rasterflow/tiff"
)

func cmdSynth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	size := fs.Int("size", 1024, "scene width and height in pixels")
	seed := fs.Int("seed", 1, "random seed")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitError{2}
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one output folder")
	}
	if *size < 1 || *size > 1<<20 {
		return fmt.Errorf("--size %d out of range", *size)
	}
	if err := WriteSynthScene(context.Background(), pos[0], *size, uint64(*seed)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d×%d, bands %v and label.tif\n", pos[0], *size, *size, synth.Bands)
	return nil
}

// WriteSynthScene writes a synthetic scene as COGs: one file per band
// (B02.tif … B12.tif, uint16 DN, nodata 0) and label.tif (WorldCover
// codes with the WorldCover palette).
func WriteSynthScene(ctx context.Context, dir string, size int, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sc := synth.Scene{Size: size, Seed: seed}
	crsName, gt := sc.Grid()
	crs, err := geo.Parse(crsName)
	if err != nil {
		return err
	}
	georef := tiff.Georef{Keys: crs.GeoKeys(), Transform: gt, HasTransform: true}
	zero := 0.0
	var writers []*tiff.COGWriter
	defer func() {
		for _, w := range writers {
			w.Abort()
		}
	}()
	for _, b := range synth.Bands {
		w, err := tiff.CreateCOG(filepath.Join(dir, b+".tif"), tiff.WriteOptions{Width: size, Height: size, Bands: 1, DType: tiff.Uint16,
			Overviews: -1, Resampling: "average", Geo: georef, Nodata: &zero, BandDescriptions: []string{b}})
		if err != nil {
			return err
		}
		writers = append(writers, w)
	}
	lw, err := tiff.CreateCOG(filepath.Join(dir, "label.tif"), tiff.WriteOptions{Width: size, Height: size, Bands: 1, DType: tiff.Uint8,
		Overviews: -1, Resampling: "nearest", Geo: georef, Nodata: &zero, ColorMap: operators.WorldCoverColorMap(), BandDescriptions: []string{"label"}})
	if err != nil {
		return err
	}
	writers = append(writers, lw)
	wins := operators.Tiles(size, size, 512)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, win := range wins {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			px := sc.Render(win.X, win.Y, win.W, win.H)
			for i := range synth.Bands {
				if err := writers[i].WriteWindow(win.X, win.Y, win.W, win.H, [][]byte{chunk.Bytes(px.Bands[i])}); err != nil {
					return err
				}
			}
			return lw.WriteWindow(win.X, win.Y, win.W, win.H, [][]byte{px.Label})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for len(writers) > 0 {
		if err := writers[0].Close(); err != nil {
			return err
		}
		writers = writers[1:]
	}
	return nil
}

package tiff

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// maxConvertWindow bounds the bytes of one window read during conversion.
const maxConvertWindow = 64 << 20

// ConvertToCOG rewrites the first image of a readable TIFF as a COG at out,
// streaming windows of one tile row from the reader. Unset options default
// from the input: size, bands, data type, georeferencing, nodata, color map
// and band descriptions (opt.Overviews and the encoding options are taken
// as given). On error or cancellation no file is left at out.
func ConvertToCOG(ctx context.Context, in *File, out string, opt WriteOptions) error {
	if in == nil || len(in.Images) == 0 {
		return errors.New("tiff: convert: no image in input")
	}
	im := in.Images[0]
	for _, c := range []struct {
		name      string
		got, want int
	}{{"width", opt.Width, im.Width}, {"height", opt.Height, im.Height}, {"bands", opt.Bands, im.Bands}} {
		if c.got != 0 && c.got != c.want {
			return fmt.Errorf("tiff: convert: %s %d differs from the input's %d", c.name, c.got, c.want)
		}
	}
	if opt.DType != Invalid && opt.DType != im.DType {
		return fmt.Errorf("tiff: convert: data type %v differs from the input's %v", opt.DType, im.DType)
	}
	opt.Width, opt.Height, opt.Bands, opt.DType = im.Width, im.Height, im.Bands, im.DType
	if !opt.Geo.HasTransform && len(opt.Geo.Keys.Short)+len(opt.Geo.Keys.Double)+len(opt.Geo.Keys.ASCII) == 0 {
		opt.Geo = im.Geo
	}
	if opt.Nodata == nil {
		opt.Nodata = im.Nodata
	}
	if opt.ColorMap == nil && im.Bands == 1 && (im.DType == Uint8 || im.DType == Uint16) {
		opt.ColorMap = im.ColorMap
	}
	if opt.BandDescriptions == nil {
		for i, b := range im.Meta.Bands {
			if i < im.Bands && b.Description != "" {
				opt.BandDescriptions = append(opt.BandDescriptions, make([]string, i+1-len(opt.BandDescriptions))...)
				opt.BandDescriptions[i] = b.Description
			}
		}
	}
	w, err := CreateCOG(out, opt)
	if err != nil {
		return err
	}
	if err := convertWindows(ctx, im, w); err != nil {
		return errors.Join(err, w.Abort())
	}
	return w.Close()
}

// convertWindows copies the image into w, one tile row (split into column
// chunks of at most maxConvertWindow bytes) per job, from several
// goroutines.
func convertWindows(ctx context.Context, im *Image, w *COGWriter) error {
	bs := w.opt.BlockSize
	rowBytes := bs * w.pix
	chunkW := max(bs, (maxConvertWindow/rowBytes)/bs*bs)
	type job struct{ x, y, cw, ch int }
	jobs := make(chan job)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for g := 0; g < runtime.GOMAXPROCS(0); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				bands, err := im.ReadWindow(ctx, j.x, j.y, j.cw, j.ch, nil)
				if err == nil {
					err = w.WriteWindow(j.x, j.y, j.cw, j.ch, bands)
				}
				if err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for y := 0; y < im.Height; y += bs {
		for x := 0; x < im.Width; x += chunkW {
			select {
			case jobs <- job{x, y, min(chunkW, im.Width-x), min(bs, im.Height-y)}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("tiff: convert: %w", first)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tiff: convert: %w", err)
	}
	return nil
}

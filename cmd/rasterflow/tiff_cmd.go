package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/rasterflow/rasterflow/blob"
	"github.com/rasterflow/rasterflow/tiff"
)

func cmdInfo(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("want one PATH or URL")
	}
	f, err := openTIFF(context.Background(), args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(f.Info())
}

func cmdConvert(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	compress := fs.String("compress", "deflate", "deflate, zstd, lzw or none")
	block := fs.Int("blocksize", 512, "tile size")
	resampling := fs.String("resampling", "", "overview resampling: nearest or average (default: nearest for palette/uint8, average otherwise)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitError{2}
	}
	if len(pos) != 2 {
		return fmt.Errorf("want IN and OUT")
	}
	comp, ok := map[string]int{"deflate": tiff.CompressionDeflate, "zstd": tiff.CompressionZSTD, "lzw": tiff.CompressionLZW, "none": tiff.CompressionNone}[*compress]
	if !ok {
		return fmt.Errorf("unknown --compress %q", *compress)
	}
	ctx := context.Background()
	f, err := openTIFF(ctx, pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	res := *resampling
	if res == "" {
		res = "average"
		if im := f.Images[0]; im.ColorMap != nil || im.DType == tiff.Uint8 {
			res = "nearest"
		}
	}
	opt := tiff.WriteOptions{Compression: comp, BlockSize: *block, Overviews: -1, Resampling: res}
	if err := tiff.ConvertToCOG(ctx, f, pos[1], opt); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", pos[1])
	return nil
}

// openTIFF opens a local path, http(s):// URL or s3:// object as a TIFF.
func openTIFF(ctx context.Context, uri string) (*tiff.File, error) {
	src, err := blob.Open(ctx, uri, blob.Options{})
	if err != nil {
		return nil, err
	}
	f, err := tiff.Open(src)
	if err != nil {
		src.Close()
		return nil, err
	}
	return f, nil
}

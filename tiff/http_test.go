package tiff_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rasterflow/rasterflow/blob"
	"github.com/rasterflow/rasterflow/tiff"
)

// TestHTTPWindowRequests reads windows of a real COG over HTTP range
// requests from a loopback server that counts them: opening costs one
// request (the header prefetch) and a window read one more, and the pixels
// equal those read from the local file.
func TestHTTPWindowRequests(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "real", "s2-l2a-29rkh", "B04.tif")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("real data absent: %v", err)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "B04.tif", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	ctx := context.Background()
	src, err := blob.Open(ctx, srv.URL+"/B04.tif", blob.Options{Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := tiff.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := requests.Load(); n != 1 {
		t.Fatalf("opening took %d requests, want 1", n)
	}
	local, err := tiff.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	// A 600×600 window across four 512×512 tiles.
	before := requests.Load()
	got, err := f.Images[0].ReadWindow(ctx, 300, 300, 600, 600, nil)
	if err != nil {
		t.Fatal(err)
	}
	windowReqs := requests.Load() - before
	if windowReqs > 2 {
		t.Fatalf("a 4-tile window took %d requests, want at most 2 (merged ranges)", windowReqs)
	}
	want, err := local.Images[0].ReadWindow(ctx, 300, 300, 600, 600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], want[0]) {
		t.Fatal("pixels over HTTP differ from the local file's")
	}
	// An overview window.
	before = requests.Load()
	if _, err := f.Images[0].Overviews[0].ReadWindow(ctx, 0, 0, 256, 256, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("open: 1 request; 4-tile window: %d; overview window: %d", windowReqs, requests.Load()-before)
}

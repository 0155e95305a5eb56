package monitor

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rasterflow/rasterflow/graph"
)

//go:embed dashboard
var dashboardFS embed.FS

// Handler serves the dashboard and the APIs:
//
//	/              the dashboard (HTML, JS, CSS; no external resources)
//	/metrics       Prometheus text format, read from the source on each scrape
//	/api/stages    the sampler's latest View as JSON
//	/api/history   every stage's recent points as JSON ([]Series)
//	/api/graph     the pipeline graphs as JSON ([]Graph)
type Handler struct {
	sampler *Sampler
	graphs  func() []Graph
	mux     *http.ServeMux
}

// GraphSource is a Source that also knows pipeline graphs (a Collector).
type GraphSource interface {
	Graphs() []Graph
}

// NewHandler serves sampler and its source. The sampler is not started:
// the caller runs it (Serve does). p may be nil: then graphs come from the
// source when it is a GraphSource, else from the stages seen, without
// edges.
func NewHandler(sampler *Sampler, p *graph.Pipeline) *Handler {
	h := &Handler{sampler: sampler, mux: http.NewServeMux()}
	switch gs, ok := sampler.src.(GraphSource); {
	case p != nil:
		g := *GraphOf(p)
		h.graphs = func() []Graph { return []Graph{g} }
	case ok:
		h.graphs = gs.Graphs
	}
	static, _ := fs.Sub(dashboardFS, "dashboard")
	h.mux.Handle("GET /", http.FileServerFS(static))
	h.mux.HandleFunc("GET /metrics", h.metrics)
	h.mux.HandleFunc("GET /api/stages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, sampler.Latest())
	})
	h.mux.HandleFunc("GET /api/history", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, sampler.History())
	})
	h.mux.HandleFunc("GET /api/graph", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, h.graphList())
	})
	return h
}

// ServeHTTP serves the dashboard and the APIs, never cached.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) graphList() []Graph {
	var gs []Graph
	if h.graphs != nil {
		gs = h.graphs()
	}
	if len(gs) == 0 {
		gs = graphsFromRates(h.sampler.Latest().Stages)
	}
	if gs == nil {
		gs = []Graph{}
	}
	return gs
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", PrometheusContentType)
	snaps := h.sampler.src.Snapshot(h.sampler.opt.Now())
	if err := WritePrometheus(w, snaps, h.sampler.opt.gauges()); err != nil {
		// The client went away; nothing more to tell it.
		return
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Server is a running monitor: a Sampler and an HTTP server.
type Server struct {
	Sampler *Sampler
	ln      net.Listener
	done    chan struct{}
	err     error
}

// ListenAddr completes addr: a bare port ("8080" or ":8080") or an empty
// host binds the loopback interface, 127.0.0.1, not every interface.
func ListenAddr(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	return addr
}

// Serve starts sampling src and serving the dashboard, /metrics and the
// JSON APIs on addr (see ListenAddr) until ctx is done. p may be nil.
func Serve(ctx context.Context, addr string, src Source, p *graph.Pipeline, opt Options) (*Server, error) {
	ln, err := net.Listen("tcp", ListenAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("monitor: listen: %w", err)
	}
	s := &Server{Sampler: NewSampler(src, opt), ln: ln, done: make(chan struct{})}
	hs := &http.Server{Handler: NewHandler(s.Sampler, p), ReadHeaderTimeout: 10 * time.Second}
	go s.Sampler.Run(ctx)
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
		close(s.done)
	}()
	context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	})
	return s, nil
}

// URL is the dashboard's address, e.g. http://127.0.0.1:8080/.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/" }

// Wait blocks until the server stopped and returns why, nil after ctx.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

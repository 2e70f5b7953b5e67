package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/mlflowapi"
)

// Config is what the server serves.
type Config struct {
	// Addr is the listen address of Run, e.g. "127.0.0.1:5000".
	Addr string
	// Version is the text of /version.
	Version string
	// Tracking serves the MLflow REST API (mlflowapi.Handler); it also gets
	// every path no other handler claims.
	Tracking http.Handler
	// Artifacts serves the artifact proxy (artifact.Handler); nil disables it.
	Artifacts http.Handler
	// Native serves posml's own JSON API under /api/posml/ (restapi.Handler);
	// nil leaves those paths to Tracking.
	Native http.Handler
	// UI serves the web UI (web.Handler) at every path outside /api/ and
	// /ajax-api/, which then stay with Tracking; nil leaves all to Tracking.
	UI http.Handler
	// Log receives request logs and server errors; nil discards them.
	Log *slog.Logger
	// ShutdownTimeout bounds the graceful shutdown (default 10 s).
	ShutdownTimeout time.Duration
	// Ready reports whether the server can serve (the database answers,
	// its schema is current): /health answers 503 with its error, else
	// 200 "OK". Nil: always ready.
	Ready func(ctx context.Context) error
	// Gauges are added to /metrics at each scrape; nil adds none.
	Gauges func(ctx context.Context) []Gauge
}

// Gauge is one sample of a gauge metric for /metrics.
type Gauge struct {
	Name, Help string
	Value      float64
}

// Server is posml's HTTP server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	handler http.Handler
}

// New builds the server.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Log, metrics: newMetrics()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.ShutdownTimeout <= 0 {
		s.cfg.ShutdownTimeout = 10 * time.Second
	}
	s.handler = s.routes()
	return s
}

// routes is the top-level route table.
func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if s.cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := s.cfg.Ready(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "not ready: %v", err)
				return
			}
		}
		fmt.Fprint(w, "OK")
	})
	m.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, s.cfg.Version)
	})
	m.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var gauges []Gauge
		if s.cfg.Gauges != nil {
			gauges = s.cfg.Gauges(r.Context())
		}
		s.metrics.serve(w, gauges)
	})
	tracking := s.cfg.Tracking
	if tracking == nil {
		tracking = http.HandlerFunc(mlflowapi.NotFound)
	}
	if s.cfg.UI != nil {
		m.Handle("/api/", tracking)
		m.Handle("/ajax-api/", tracking)
		m.Handle("/", s.cfg.UI)
	} else {
		m.Handle("/", tracking)
	}
	if s.cfg.Native != nil {
		m.Handle("/api/posml/", s.cfg.Native)
	}
	var h http.Handler = m
	if art := s.cfg.Artifacts; art != nil {
		// The proxy is reached ahead of the mux, which would redirect
		// unclean paths instead of letting the proxy refuse them.
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if artifact.IsProxyPath(r.URL.Path) {
				r.Pattern = "artifacts"
				art.ServeHTTP(w, r)
				return
			}
			m.ServeHTTP(w, r)
		})
	}
	return s.observe(s.recoverPanics(h))
}

// Handler returns the server's handler with all middleware, for tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on Config.Addr and serves until ctx ends, then shuts down
// gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then stops accepting connections and
// waits (up to Config.ShutdownTimeout) for requests in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("server listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }() // Serve returns after Shutdown; waited for below
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("server stopped")
	return nil
}

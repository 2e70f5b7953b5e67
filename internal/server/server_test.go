package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPanicBecomesInternalError(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/2.0/mlflow/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	s := New(Config{Tracking: mux})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/2.0/mlflow/boom", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"error_code":"INTERNAL_ERROR"`) || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}

func TestHealthVersionAndUnknownRoutes(t *testing.T) {
	s := New(Config{Version: "1.2.3"})
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{"/health", "OK", 200},
		{"/version", "1.2.3", 200},
		{"/api/2.0/mlflow/unknown", `"error_code":"ENDPOINT_NOT_FOUND"`, 404},
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("GET %s = %d %q; want %d %q", tc.path, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
}

func TestMetricsExposition(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/2.0/mlflow/runs/log-metric", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "{}") })
	s := New(Config{Tracking: mux})
	for range 3 {
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/2.0/mlflow/runs/log-metric", nil))
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE posml_http_requests_total counter",
		`posml_http_requests_total{route="POST /api/2.0/mlflow/runs/log-metric",code="200"} 3`,
		"# TYPE posml_http_request_duration_seconds histogram",
		`posml_http_request_duration_seconds_bucket{route="POST /api/2.0/mlflow/runs/log-metric",le="+Inf"} 3`,
		`posml_http_request_duration_seconds_count{route="POST /api/2.0/mlflow/runs/log-metric"} 3`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/2.0/mlflow/slow", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "{}")
	})
	s := New(Config{Tracking: mux})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/2.0/mlflow/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	if b := <-got; b != "{}" {
		t.Fatalf("in-flight request got %q; want {}", b)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v; want nil after a graceful shutdown", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/health"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func TestHealthNotReady(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ready error
		code  int
		want  string
	}{
		{"ready", nil, 200, "OK"},
		{"schema newer", errors.New("the database schema is at version 70"), 503, "not ready: the database schema is at version 70"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Ready: func(context.Context) error { return tc.ready }})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
			if rec.Code != tc.code || rec.Body.String() != tc.want {
				t.Errorf("GET /health = %d %q; want %d %q", rec.Code, rec.Body.String(), tc.code, tc.want)
			}
		})
	}
}

func TestMetricsGauges(t *testing.T) {
	s := New(Config{Gauges: func(context.Context) []Gauge {
		return []Gauge{{Name: "posml_leases_active", Help: "Running attempts with a live lease.", Value: 3}, {Name: "posml_scheduler_lag_seconds", Help: "Lag.", Value: 0.25}}
	}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"# TYPE posml_leases_active gauge\nposml_leases_active 3\n", "posml_scheduler_lag_seconds 0.25\n"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, rec.Body.String())
		}
	}
}

package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
)

// TestBenchAgainstServer runs every phase, tiny, against a real posml
// tracking server and checks that the counts add up.
func TestBenchAgainstServer(t *testing.T) {
	url := startServer(t)
	var progress bytes.Buffer
	cfg := Config{
		URL:            url,
		LogMetricCalls: 50,
		BatchRequests:  3,
		BatchSize:      1000,
		GetRunCalls:    20,
		HistoryPoints:  1500,
		HistoryCalls:   5,
		SearchRuns:     20,
		SearchCalls:    5,
		SeedWorkers:    4,
		Writers:        2,
		Duration:       2 * time.Second,
		WriterBatch:    50,
		PageSize:       100, // small, so counting back goes through many pages
	}
	hc := NewHTTPClient(16)
	defer hc.CloseIdleConnections()
	b, err := New(cfg, hc, NewProgress(&progress, false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	r, err := b.Run(ctx)
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", table.String())
	if f := r.Failures(); len(f) > 0 {
		t.Fatalf("Failures() = %q; want none", f)
	}

	if r.LogMetric == nil || r.LogMetric.Latency.N != 50 || r.LogMetric.Latency.Median <= 0 {
		t.Errorf("log-metric = %+v; want 50 timed calls", r.LogMetric)
	}
	if r.LogBatch == nil || r.LogBatch.Latency.N != 3 || r.LogBatch.MetricsPerSecond <= 0 {
		t.Errorf("log-batch = %+v; want 3 timed requests and a rate", r.LogBatch)
	}
	if r.GetRun == nil || r.GetRun.Latency.N != 20 {
		t.Errorf("get-run = %+v; want 20 timed calls", r.GetRun)
	}
	if r.History == nil || r.History.Latency.N != 5 || r.History.Points != 1500 {
		t.Errorf("history = %+v; want 5 timed calls of 1500 points", r.History)
	}
	wantMatching := 0
	for i := range 20 {
		if accOf(i) > 0.5 {
			wantMatching++
		}
	}
	if s := r.Search; s == nil || s.Matching != wantMatching || len(s.Queries) != 2 || s.Scan == nil {
		t.Errorf("search = %+v; want %d matching runs, 2 queries and a scan", s, wantMatching)
	}
	w := r.Writers
	if w == nil {
		t.Fatal("no writers section")
	}
	if !w.CountedBack || w.Acked == 0 || w.Stored != w.Acked || w.Lost != 0 || w.Errors != 0 {
		t.Errorf("writers: acked %d, stored %d, lost %d, errors %d; want stored = acked > 0, nothing lost", w.Acked, w.Stored, w.Lost, w.Errors)
	}
	if w.Seconds < 2 || w.BatchLatency.N == 0 || w.MetricLatency.N == 0 {
		t.Errorf("writers = %+v; want ≥2 s of batches and single metrics", w)
	}

	// The JSON summary is a contract: check the names scripts read.
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"log_metric", "latency", "median_ms"}, {"log_metric", "latency", "p99_ms"},
		{"log_batch", "metrics_per_s"}, {"get_run", "latency", "p90_ms"}, {"metric_history", "latency", "max_ms"},
		{"search", "queries"}, {"writers", "lost_metrics"}, {"writers", "acked_metrics"}, {"writers", "stored_metrics"},
	} {
		var v any = generic
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v == nil {
			t.Errorf("JSON summary has no %s", strings.Join(path, "."))
		}
	}
	for _, step := range []string{"log-metric: sequential", "search: seeding 20 runs", "writers: counting back"} {
		if !strings.Contains(progress.String(), step) {
			t.Errorf("progress has no line for %q", step)
		}
	}
}

// TestBenchUnreachable checks that a server that is not there stops the
// benchmark at once with the connection error.
func TestBenchUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	b, err := New(Config{URL: "http://" + addr}, NewHTTPClient(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "log-metric") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run against %s: error %v; want the first phase failing with connection refused", addr, err)
	}
	if r == nil || r.LogMetric != nil {
		t.Errorf("Run against %s: report %+v; want an empty report", addr, r)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "127.0.0.1:5000"},
		{URL: "ftp://host"},
		{URL: "http://h", BatchSize: 1001},
		{URL: "http://h", Writers: -1},
	} {
		if _, err := New(cfg, NewHTTPClient(1), nil); err == nil {
			t.Errorf("New(%+v) succeeded; want an error", cfg)
		}
	}
}

// startServer serves the real posml tracking stack (SQLite, local
// artifacts, the MLflow API and the server's middleware) on a loopback port
// in-process, so that the race detector watches the server under the
// benchmark's concurrent load, and returns its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	art, err := artifact.OpenLocal(artifact.LocalConfig{Dir: filepath.Join(dir, "artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { art.Close() })
	srv := server.New(server.Config{
		Version:   "test",
		Tracking:  mlflowapi.Handler(store, art, nil),
		Artifacts: artifact.Handler(art, nil),
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

package datamart_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posml/posml/internal/datamart"
)

// The targets, on a 1 000 000-row × 10-column PostgreSQL table:
// materialising ≤ 2× `COPY (query) TO STDOUT`, and streaming the snapshot
// as CSV in ≤ 50 MB of heap above idle. Run with
//
//	eval "$(scripts/pg.sh)"; go test -run '^$' -bench Mart1M -benchtime 1x ./internal/datamart
//
// (POSML_BENCH_ROWS changes the row count).
func BenchmarkMart1M(b *testing.B) {
	ctx := context.Background()
	dsn, db := postgresURL(b)
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("POSML_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	if _, err := db.Exec(`CREATE TABLE big AS SELECT g AS id, (g % 1000)::int AS i, g * 0.5::float8 AS f1, random() AS f2,
		'name-' || g AS s1, md5(g::text) AS s2, g % 2 = 0 AS b, timestamptz '2026-01-01' + g * interval '1 second' AS ts,
		CASE WHEN g % 10 = 0 THEN NULL ELSE g END AS n, (g % 7)::float8 AS f3 FROM generate_series(1, ` + strconv.Itoa(rows) + `) g`); err != nil {
		b.Fatal(err)
	}
	const query = `SELECT * FROM big ORDER BY id`
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	copyTime := func() time.Duration {
		start := time.Now()
		if _, err := conn.PgConn().CopyTo(ctx, io.Discard, `COPY (`+query+`) TO STDOUT`); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	copyTime() // warm the cache
	cp := copyTime()

	svc, _ := newService(b, openStore(b))
	if _, err := svc.AddSource(ctx, datamart.Source{Name: "pg", Kind: datamart.Postgres, DSN: dsn}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	_, snap, err := svc.Create(ctx, datamart.Mart{ID: "big", Source: "pg", Query: query})
	if err != nil {
		b.Fatal(err)
	}
	mat := time.Since(start)
	b.ResetTimer()
	for range b.N {
		if _, _, err := svc.Refresh(ctx, "big"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(cp.Seconds(), "copy-s")
	b.ReportMetric(mat.Seconds(), "materialise-s")
	b.ReportMetric(mat.Seconds()/cp.Seconds(), "ratio")
	b.ReportMetric(float64(snap.Size)/(1<<20), "snapshot-MB")

	// Stream it as CSV over HTTP, sampling the heap.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr, err := svc.Open(snap)
		if err != nil {
			b.Error(err)
			return
		}
		defer rr.Close()
		datamart.WriteCSV(w, rr)
	}))
	defer srv.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	idle := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() { // stopped by done below
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	start = time.Now()
	resp, err := http.Get(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(done)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "stream-csv-s")
	b.ReportMetric(float64(n)/(1<<20), "csv-MB")
	b.ReportMetric(float64(peak.Load()-min(idle, peak.Load()))/(1<<20), "stream-heap-above-idle-MB")
}

package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sqlstore"
)

// TestReplicasFireOnce: three schedulers (three replicas, each with its own
// connection pool) on one PostgreSQL database, 200 projects all due at the
// same instants (*/5 * * * *), an hour of fake time stepped by the minute:
// every fire is created exactly once, none is missed.
//
// With POSML_BENCH_REPLICAS=1 it is the benchmark of issue 8: 10 000
// projects over the same hour.
func TestReplicasFireOnce(t *testing.T) {
	base := os.Getenv("POSML_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("POSML_TEST_POSTGRES_URL is not set")
	}
	n := 200
	if os.Getenv("POSML_BENCH_REPLICAS") != "" {
		n = 10_000
	}
	u := postgresSchema(t, base)
	ctx := context.Background()
	var stores []*sqlstore.Store
	for range 3 {
		s, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	st := pipeline.Settings{
		Train:         pipeline.Spec{Expr: "*/5 * * * *", TimeZone: "UTC", Start: t0, Mode: "trigger"},
		MaxActiveRuns: 1, Retries: 1,
	}
	setup := time.Now()
	var wg sync.WaitGroup
	for r, s := range stores { // registered through all three, in parallel
		wg.Go(func() {
			for i := r; i < n; i += len(stores) {
				addProject(t, s, fmt.Sprintf("p%05d", i), st)
			}
		})
	}
	wg.Wait()
	t.Logf("%d projects registered in %s", n, time.Since(setup).Round(time.Millisecond))

	clk := &clock{t: t0}
	var scheds []*Scheduler
	for _, s := range stores {
		scheds = append(scheds, New(s, Config{Now: clk.Now, Batch: 500}, nil))
	}
	start := time.Now()
	var worst time.Duration // the longest minute: all replicas' ticks until nothing is due
	for m := range 60 {
		clk.Set(t0.Add(time.Duration(m) * time.Minute))
		began := time.Now()
		for {
			var mu sync.Mutex
			fired := 0
			for _, sch := range scheds {
				wg.Go(func() {
					k, err := sch.Tick(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					fired += k
					mu.Unlock()
				})
			}
			wg.Wait()
			if fired == 0 {
				break
			}
		}
		worst = max(worst, time.Since(began))
	}
	elapsed := time.Since(start)

	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var total, distinct, missing int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT (project_id, logical_date)) FROM pipeline_runs WHERE cause = 'schedule'`).Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	// Every project has the 12 fires of the hour.
	if err := db.QueryRow(`SELECT COUNT(*) FROM projects p WHERE (SELECT COUNT(*) FROM pipeline_runs r WHERE r.project_id = p.id AND r.cause = 'schedule') <> 12`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	want := n * 12
	t.Logf("3 replicas, %d projects, 1 simulated hour: %d fires (want %d), %d duplicates, %d projects without exactly 12; %s of ticking, slowest minute %s",
		n, total, want, total-distinct, missing, elapsed.Round(time.Millisecond), worst.Round(time.Millisecond))
	if total != want || distinct != total || missing != 0 {
		t.Errorf("fires = %d, distinct %d, projects off %d; want %d, all distinct, none off", total, distinct, missing, want)
	}
}

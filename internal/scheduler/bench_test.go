package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sqlstore"
)

// benchProjects registers n projects, hourly at minute i%60 (a cron per
// project, as teams spread their jobs), and runs a first tick so that every
// next fire is stored.
func benchProjects(b *testing.B, n int, cron func(i int) string) (*sqlstore.Store, *clock, *Scheduler) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "posml.db")
	s := openStore(b, path)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		st := pipeline.Settings{
			Train:         pipeline.Spec{Expr: cron(i), TimeZone: "Asia/Seoul", Start: start, Mode: "trigger"},
			MaxActiveRuns: 1, Retries: 1,
		}
		addProject(b, s, fmt.Sprintf("p%05d", i), st)
	}
	// Measure with durable commits, the server's default (the setup ran
	// with synchronous=off).
	s.Close()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:///" + path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 30, 0, time.UTC)}
	sch := New(s, Config{Now: clk.Now, Batch: 1000}, nil)
	if _, err := sch.Tick(ctx); err != nil { // the first fire of each, at once
		b.Fatal(err)
	}
	_ = s
	return s, clk, sch
}

// BenchmarkTick measures scheduler ticks with 10 000 projects:
//   - idle: nothing due (the common tick, once a second);
//   - second: the clock moves 1 s per tick, so that every 60th tick fires
//     the ~167 projects of one minute;
//   - minute: the clock moves 1 min per tick: each tick fires ~167 runs.
func BenchmarkTick(b *testing.B) {
	const n = 10_000
	_, clk, sch := benchProjects(b, n, func(i int) string { return fmt.Sprintf("%d * * * *", i%60) })
	ctx := context.Background()
	t0 := clk.Now()
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			if _, err := sch.Tick(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("second", func(b *testing.B) {
		fired := 0
		for b.Loop() {
			t0 = t0.Add(time.Second)
			clk.Set(t0)
			k, err := sch.Tick(ctx)
			if err != nil {
				b.Fatal(err)
			}
			fired += k
		}
		b.ReportMetric(float64(fired)/float64(b.N), "runs/tick")
	})
	b.Run("minute", func(b *testing.B) {
		fired := 0
		for b.Loop() {
			t0 = t0.Add(time.Minute)
			clk.Set(t0)
			k, err := sch.Tick(ctx)
			if err != nil {
				b.Fatal(err)
			}
			fired += k
		}
		b.ReportMetric(float64(fired)/float64(b.N), "runs/tick")
	})
}

// BenchmarkBurst: 10 000 projects all @hourly: every tick fires 10 000 runs
// at minute 0.
func BenchmarkBurst(b *testing.B) {
	_, clk, sch := benchProjects(b, 10_000, func(int) string { return "@hourly" })
	ctx := context.Background()
	t0 := clk.Now()
	fired := 0
	for b.Loop() {
		t0 = t0.Add(time.Hour)
		clk.Set(t0)
		k, err := sch.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		fired += k
	}
	b.ReportMetric(float64(fired)/float64(b.N), "runs/tick")
}

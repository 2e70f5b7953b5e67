package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/scheduler"
)

// startScript records when the process started running Python code.
const startScript = `import os, time
open(os.path.join(os.environ["HOME"], "start-" + os.environ["POSML_RUN_ID"]), "w").write(repr(time.time()))
`

// BenchmarkFireToStart measures the latency from a fire instant to the
// start of train.py (its first line of Python), with 50 projects' runs due
// at the same instant and MaxParallel 8: the scheduler's tick creates the
// 50 runs, the pool starts them 8 at a time. Each iteration is one such
// instant; it reports the p50, p99 and max over the 50 runs, and the
// interpreter's own start-up, which the latencies include.
//
//	go test ./internal/runner -run XXX -bench FireToStart -benchtime 3x
func BenchmarkFireToStart(b *testing.B) {
	e := newEnv(b)
	const n = 50
	for i := range n {
		name := fmt.Sprintf("p%02d", i)
		e.project(name, map[string]string{
			"src/config.yaml": strings.Replace(configYAML(name, ""), `"@hourly"`, `"* * * * *"`, 1),
			"src/train.py":    startScript,
		})
	}
	startup := pythonStartup(b)
	// A clock shifted so that the next whole minute, the fire instant of
	// all 50, is the benchmark's start.
	var offsetNs atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offsetNs.Load())) }
	sch := scheduler.New(e.store, scheduler.Config{Now: now}, nil)
	pool := e.pool(Deps{}, func(c *Config) { c.MaxParallel = 8; c.Now = now; c.PollInterval = time.Second })
	ctx := context.Background()
	offsetNs.Store(int64(time.Until(time.Now().Truncate(time.Minute).Add(-time.Minute)))) // a minute ago, on a tick
	if _, err := sch.Tick(ctx); err != nil {                                              // first fires (no catch-up: the latest minute)
		b.Fatal(err)
	}
	start(b, pool)
	waitAll(b, e, n)
	var all, claim, prep []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fire := now().Truncate(time.Minute).Add(time.Minute)
		offsetNs.Store(int64(time.Until(fire))) // now() == fire
		offset := time.Duration(offsetNs.Load())
		k, err := sch.Tick(ctx)
		if err != nil || k != n {
			b.Fatalf("tick fired %d runs (%v); want %d", k, err, n)
		}
		pool.Wake()
		runs := waitAll(b, e, n*(i+2))
		var lat []float64
		for _, r := range runs {
			if !r.FireAt.Equal(fire) {
				continue
			}
			s, err := os.ReadFile(filepath.Join(e.home, "start-"+r.ID.String()))
			if err != nil {
				b.Fatal(err)
			}
			sec, _ := strconv.ParseFloat(string(s), 64)
			started := time.Unix(0, int64(sec*1e9)).Add(offset)
			lat = append(lat, float64(started.Sub(fire))/1e6)
			claim = append(claim, float64(r.StartedAt.Sub(fire))/1e6)
			prep = append(prep, float64(started.Sub(r.StartedAt))/1e6)
		}
		all = append(all, lat...)
	}
	b.StopTimer()
	slices.Sort(all)
	q := func(p float64) float64 { return all[min(len(all)-1, int(p*float64(len(all))))] }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(all[len(all)-1], "max-ms")
	b.ReportMetric(float64(startup)/1e6, "python-startup-ms")
	// Where the time goes: fire to the attempt's claim (queueing for a
	// slot), and claim to Python's first line (checkout, config, exec).
	slices.Sort(claim)
	slices.Sort(prep)
	b.ReportMetric(claim[len(claim)*99/100], "claim-p99-ms")
	b.ReportMetric(prep[len(prep)/2], "start-p50-ms")
	b.ReportMetric(prep[len(prep)*99/100], "start-p99-ms")
}

// waitAll waits until total runs exist and all have ended.
func waitAll(b testing.TB, e *env, total int) []pipeline.Run {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		runs, err := e.store.PipelineRuns(context.Background(), pipeline.RunFilter{Limit: 100000})
		if err != nil {
			b.Fatal(err)
		}
		done := 0
		for _, r := range runs {
			if r.State.Terminal() {
				if r.State != pipeline.Succeeded {
					b.Fatalf("run %s %s: %s", r.ID, r.State, r.Reason)
				}
				done++
			}
		}
		if done >= total {
			return runs
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d runs ended", done, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pythonStartup is the mean wall time of `python3 -c pass`... of running
// the start script directly, as the runner would, minus nothing: the
// interpreter's start-up and exit.
func pythonStartup(b testing.TB) time.Duration {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "s.py"), []byte("pass\n"), 0o644)
	const k = 10
	t0 := time.Now()
	for range k {
		cmd := exec.Command(python(b), "s.py")
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONUNBUFFERED=1"}
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0) / k
}

// BenchmarkRunOverhead measures posml's own cost per run: from the attempt's
// start (its row committed) to the run's end (committed), minus the time
// the same train.py takes when started directly, one run at a time. The
// difference is checkout, system config, environment, process group and
// log setup, and the bookkeeping after exit.
//
//	go test ./internal/runner -run XXX -bench RunOverhead -benchtime 20x
func BenchmarkRunOverhead(b *testing.B) {
	e := newEnv(b)
	p := e.project("ovh", map[string]string{
		"src/config.yaml": configYAML("ovh", ""),
		"src/train.py":    "pass\n",
	})
	pool := e.pool(Deps{}, func(c *Config) { c.MaxParallel = 1 })
	start(b, pool)
	ctx := context.Background()
	direct := pythonStartup(b)
	var total, queue time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := pool.Enqueue(ctx, pipeline.Run{ProjectID: p.ID})
		if err != nil {
			b.Fatal(err)
		}
		var got pipeline.Run
		for {
			if got, err = e.store.PipelineRun(ctx, r.ID); err != nil {
				b.Fatal(err)
			}
			if got.State.Terminal() {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if got.State != pipeline.Succeeded {
			b.Fatalf("run %s", got.State)
		}
		total += got.EndedAt.Sub(got.StartedAt)
		queue += got.StartedAt.Sub(got.QueuedAt)
	}
	b.StopTimer()
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per)/1e6, "run-ms")
	b.ReportMetric(float64(direct)/1e6, "python-ms")
	b.ReportMetric(float64(per-direct)/1e6, "overhead-ms")
	b.ReportMetric(float64(queue/time.Duration(b.N))/1e6, "queue-ms")
}

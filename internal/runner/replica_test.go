package runner

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posml/posml/internal/pgtest"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/scheduler"
	"github.com/posml/posml/internal/sqlstore"
)

// postgresURL is pgtest.URL.
func postgresURL(t testing.TB) string { return pgtest.URL(t) }

// openURL opens a store (a replica's own connection pool) on url.
func openURL(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testLeases is the store as Leases, bound to one replica (as the server
// wires it).
type testLeases struct {
	*sqlstore.Store
	r sqlstore.Replica
}

func (l testLeases) Beat(ctx context.Context, now time.Time) error {
	return l.HeartbeatReplica(ctx, l.r, now)
}

// replicaPool is a pool of replica id on its own store, with its own runs
// directory, sharing the env's clones.
func (e *env) replicaPool(store *sqlstore.Store, id string, lease time.Duration, mod func(*Config)) *Pool {
	r := sqlstore.Replica{ID: id, Host: "test", PID: os.Getpid(), StartedAt: time.Now(), LeaseTimeout: lease}
	return e.pool(Deps{Store: store, Leases: testLeases{store, r}}, func(c *Config) {
		c.ReplicaID, c.LeaseTimeout, c.Shared = id, lease, true
		c.RunsDir = filepath.Join(e.runsDir, id)
		if mod != nil {
			mod(c)
		}
	})
}

// TestReplicasRunOnce: three replicas (a scheduler and a pool each, each
// on its own connection pool) on one PostgreSQL database; 200 projects
// due at the same instants (*/5 * * * *) over three cron periods of fake
// scheduler time. Every fire is created once and started once: counted in
// the database and by the training scripts, which each append a line to a
// shared file.
func TestReplicasRunOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 600 python processes")
	}
	u := postgresURL(t)
	e := newEnv(t)
	e.store = openURL(t, u)
	ctx := context.Background()
	const nProjects, periods, replicas = 200, 3, 3
	shared := filepath.Join(t.TempDir(), "fires.txt")
	first := e.project("p000", map[string]string{
		"src/config.yaml": "proj_name: p\nmodel_name: p_model\nmart_id: m1\ntime_zone: UTC\n" +
			"train_start_date: \"2026-03-01 00:00:00\"\ntrain_schedule_interval: \"*/5 * * * *\"\n" +
			"mlflow:\n  target_metric: accuracy_score\n",
		"src/train.py": trainHeader + `with open(` + strconv.Quote(shared) + `, "a") as f:
    f.write(os.environ["POSML_PROJECT"] + " " + os.environ["POSML_LOGICAL_DATE"] + " " + os.environ["POSML_RUN_ID"] + "\n")
`,
	})
	c, err := e.store.Commit(ctx, first.ID, first.ActiveCommit)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < nProjects; i++ { // the same repository, a clone each
		p, err := e.store.CreateProject(ctx, pipeline.Project{Name: fmt.Sprintf("p%03d", i), RepoURL: first.RepoURL}, pipeline.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(filepath.Join(e.clones, p.ID.String()), os.DirFS(filepath.Join(e.clones, first.ID.String()))); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: c.SHA, Valid: true, Settings: c.Settings}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.ActivateCommit(ctx, p.ID, c.SHA); err != nil {
			t.Fatal(err)
		}
	}

	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var scheds []*scheduler.Scheduler
	for i := range replicas {
		s := openURL(t, u)
		pool := e.replicaPool(s, "r"+strconv.Itoa(i), 3*time.Second, func(c *Config) { c.MaxParallel = 4 })
		start(t, pool)
		scheds = append(scheds, scheduler.New(s, scheduler.Config{Now: clock, FiredFunc: func(pipeline.Run) { pool.Wake() }}, nil))
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	began := time.Now()
	for k := range periods {
		mu.Lock()
		now = t0.Add(time.Duration(k) * 5 * time.Minute)
		mu.Unlock()
		for {
			var wg sync.WaitGroup
			var fired sync.Map
			for i, sch := range scheds {
				wg.Go(func() {
					n, err := sch.Tick(ctx)
					if err != nil {
						t.Error(err)
					}
					fired.Store(i, n)
				})
			}
			wg.Wait()
			total := 0
			fired.Range(func(_, v any) bool { total += v.(int); return true })
			if total == 0 {
				break
			}
		}
	}
	want := nProjects * periods
	var done int
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if err := db.QueryRow(`SELECT COUNT(*) FROM pipeline_runs WHERE state IN ('succeeded', 'failed', 'canceled', 'timed_out')`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done >= want || time.Now().After(deadline) {
			break
		}
	}
	var runs, succeeded, attempts, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(*) FILTER (WHERE state = 'succeeded'), COALESCE(SUM(attempts), 0), COUNT(DISTINCT (project_id, logical_date)) FROM pipeline_runs`).Scan(&runs, &succeeded, &attempts, &distinct); err != nil {
		t.Fatal(err)
	}
	perReplica := map[string]int{}
	rows, err := db.Query(`SELECT replica_id, COUNT(*) FROM run_attempts GROUP BY replica_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n int
		rows.Scan(&id, &n)
		perReplica[id] = n
	}
	rows.Close()
	b, _ := os.ReadFile(shared)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen := map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 3 {
			seen[f[0]+" "+f[1]]++
		}
	}
	t.Logf("%d runs in %s; attempts per replica %v", runs, time.Since(began).Round(time.Millisecond), perReplica)
	if runs != want || distinct != want || succeeded != want || attempts != want {
		t.Errorf("runs %d (distinct fires %d, succeeded %d, attempts %d); want %d of each", runs, distinct, succeeded, attempts, want)
	}
	if len(lines) != want || len(seen) != want {
		t.Errorf("the scripts ran %d times for %d distinct fires; want %d, once each", len(lines), len(seen), want)
	}
	for fire, n := range seen {
		if n != 1 {
			t.Errorf("fire %s ran %d times", fire, n)
		}
	}
}

// TestReplicaLostRetried: an attempt leased by a replica that stopped
// renewing (it died) is taken over by a live replica once the lease
// expired, failed "replica lost", and its run retried there to success.
func TestReplicaLostRetried(t *testing.T) {
	u := postgresURL(t)
	e := newEnv(t)
	e.store = openURL(t, u)
	ctx := context.Background()
	p := e.project("lost", map[string]string{
		"src/config.yaml": configYAML("lost", "retries: 1\n"),
		"src/train.py":    trainHeader + "print('attempt', os.environ['POSML_RUN_ID'])\n",
	})
	run, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	// Replica "dead" starts the attempt, leases it for 1 s and dies.
	const lease = time.Second
	dead := openURL(t, u)
	started := time.Now()
	_, a, ok, err := dead.StartAttempt(ctx, run.ID, started, nil)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := dead.RenewLeases(ctx, "dead", map[pipeline.RunID]int{run.ID: a.N}, started.Add(lease)); err != nil {
		t.Fatal(err)
	}
	start(t, e.replicaPool(openURL(t, u), "alive", lease, nil))
	got := e.wait(run.ID, 15*time.Second)
	atts := e.attempts(run.ID)
	if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].Error != "replica lost" || atts[1].State != pipeline.Succeeded {
		t.Fatalf("run %s (%s), attempts %+v", got.State, got.Reason, atts)
	}
	if d := atts[1].StartedAt.Sub(started); d < lease || d > lease+5*time.Second {
		t.Errorf("retry started %s after the dead replica's start; want between the lease (%s) and lease + 5 s", d, lease)
	}
}

// TestLeaseLostStopsAttempt: a replica whose attempt was taken over by
// another (it failed to renew in time) stops the attempt's process and
// leaves its end to the other replica.
func TestLeaseLostStopsAttempt(t *testing.T) {
	u := postgresURL(t)
	e := newEnv(t)
	e.store = openURL(t, u)
	ctx := context.Background()
	p := e.project("fenced", map[string]string{
		"src/config.yaml": configYAML("fenced", ""),
		"src/train.py":    trainHeader + "time.sleep(60)\n",
	})
	run, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	pool := e.replicaPool(openURL(t, u), "slow", 3*time.Second, nil)
	start(t, pool)
	e.waitState(run.ID, pipeline.Running, 10*time.Second)
	// Another replica takes the attempt over as if its lease had expired.
	far := time.Now().Add(time.Hour)
	taken, err := e.store.TakeOverExpired(ctx, "other", far, far.Add(time.Hour), 3*time.Second, 10)
	if err != nil || len(taken) != 1 {
		t.Fatalf("TakeOverExpired = %v, %v", taken, err)
	}
	// Within a renewal period the pool sees the lease lost and stops the
	// process; the attempt stays running, the other replica's to end.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pool.mu.Lock()
		_, busy := pool.active[run.ID]
		pool.mu.Unlock()
		if !busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the attempt still runs after its lease was lost")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.attempts(run.ID); got[0].State != pipeline.Running {
		t.Errorf("attempt after the lease was lost = %+v; want still running (the other replica ends it)", got[0])
	}
	if log := readLog(t, taken[0]); !strings.Contains(log, "lost its lease") {
		t.Errorf("log:\n%s", log)
	}
}

// TestLogFromAnyReplica: a replica serves, live, the log of an attempt
// that runs on another replica, from the copy in the database.
func TestLogFromAnyReplica(t *testing.T) {
	u := postgresURL(t)
	e := newEnv(t)
	e.store = openURL(t, u)
	ctx := context.Background()
	p := e.project("logs", map[string]string{
		"src/config.yaml": configYAML("logs", ""),
		"src/train.py":    trainHeader + "print('first line', flush=True)\ntime.sleep(1.5)\nprint('last line')\n",
	})
	runner := e.replicaPool(openURL(t, u), "a", 3*time.Second, nil)
	runner.d.Logs = runner.d.Store.(*sqlstore.Store)
	start(t, runner)
	other := e.replicaPool(openURL(t, u), "b", 3*time.Second, func(c *Config) { c.MaxParallel = 1 })
	other.d.Logs = other.d.Store.(*sqlstore.Store)
	run, err := e.store.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	e.waitState(run.ID, pipeline.Running, 10*time.Second)
	rc, err := other.Follow(ctx, run.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.wait(run.ID, 10*time.Second); got.State != pipeline.Succeeded {
		t.Fatalf("run %s", got.State)
	}
	local := readLog(t, e.attempts(run.ID)[0])
	if string(b) != local || !strings.Contains(local, "first line\nlast line\n") {
		t.Errorf("log served by the other replica:\n%s\nwant the runner's file:\n%s", b, local)
	}
	// From an offset, once ended, with the file gone (another machine).
	os.Remove(e.attempts(run.ID)[0].LogPath)
	rc2, err := other.Follow(ctx, run.ID, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(rc2)
	rc2.Close()
	if string(b2) != local[5:] {
		t.Errorf("log from byte 5 = %q; want %q", b2, local[5:])
	}
}

package cli

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posml/posml/internal/gitrepo"
	"github.com/posml/posml/internal/pgtest"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/sqlstore"
)

// postgresURL is pgtest.URL.
func postgresURL(t *testing.T) string { return pgtest.URL(t) }

// TestMigrateConcurrent: several `posml migrate` at once on one empty
// PostgreSQL schema: one applies every migration, the others wait for its
// advisory lock and find nothing to do.
func TestMigrateConcurrent(t *testing.T) {
	u := postgresURL(t)
	var wg sync.WaitGroup
	outs := make([]syncBuffer, 4)
	for i := range outs {
		wg.Go(func() {
			var stderr syncBuffer
			if err := Run(context.Background(), []string{"migrate", "--db", u}, strings.NewReader(""), &outs[i], &stderr, func(string) string { return "" }); err != nil {
				t.Errorf("migrate %d: %v\n%s", i, err, stderr.String())
			}
		})
	}
	wg.Wait()
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	applied, known, err := st.SchemaVersion(context.Background())
	if err != nil || applied != known {
		t.Fatalf("SchemaVersion = %d, %d, %v; want equal", applied, known, err)
	}
	for i := range outs {
		if want := "schema at version " + strconv.Itoa(known) + ", up to date"; !strings.Contains(outs[i].String(), want) {
			t.Errorf("migrate %d printed %q; want %q", i, outs[i].String(), want)
		}
	}
}

// TestSchemaNewerRefused: a database migrated by a newer posml (a version
// this binary does not embed) is refused by `posml migrate` and `posml
// server`.
func TestSchemaNewerRefused(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:///" + filepath.Join(dir, "posml.db")
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", filepath.Join(dir, "posml.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	for _, args := range [][]string{
		{"migrate", "--db", db},
		{"server", "--db", db, "--data-dir", dir, "--addr", freeAddr(t)},
	} {
		t.Run(args[0], func(t *testing.T) {
			var stderr syncBuffer
			err := Run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr, func(string) string { return "" })
			if err == nil || !strings.Contains(stderr.String(), "schema is at version 9999, newer than this posml knows") {
				t.Errorf("posml %s = %v; stderr %q; want the newer-schema refusal", args[0], err, stderr.String())
			}
		})
	}
}

// TestReplicasKill9: three `posml server` replicas (child processes) on
// one PostgreSQL database, 3 s leases. The replica that runs a run's
// first attempt is killed with SIGKILL; another replica fails that
// attempt ("replica lost") once its lease expired and runs the second
// attempt to success, within the lease timeout plus 5 s of the kill, even
// when the kill comes right after a lease renewal.
func TestReplicasKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	u := postgresURL(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	shared := filepath.Join(dir, "shared.txt") // each process appends a line
	marker := filepath.Join(dir, "first-pid")
	writeFiles(t, repo, map[string]string{
		"src/config.yaml": "proj_name: rk\nmodel_name: rk\nmart_id: m\ntime_zone: UTC\n" +
			"train_start_date: \"2026-01-01 00:00:00\"\ntrain_schedule_interval: \"@hourly\"\nretries: 1\nmlflow:\n  target_metric: accuracy_score\n",
		"src/train.py": `import os, time
with open(` + strconv.Quote(shared) + `, "a") as f:
    f.write(os.environ["POSML_RUN_ID"] + " " + str(os.getpid()) + "\n")
marker = ` + strconv.Quote(marker) + `
if not os.path.exists(marker):
    open(marker + ".tmp", "w").write(str(os.getpid()))
    os.rename(marker + ".tmp", marker)
    time.sleep(120)
print("second attempt")
`,
	})
	gitCommit(t, repo)
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.CreateProject(ctx, pipeline.Project{Name: "rk", RepoURL: repo}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	var sha string
	const replicas = 3
	for i := range replicas { // each replica has its own clones
		r, err := (&gitrepo.Git{}).Clone(ctx, repo, filepath.Join(dir, "data"+strconv.Itoa(i), "repos", p.ID.String()), gitrepo.Auth{})
		if err != nil {
			t.Fatal(err)
		}
		sha, _ = r.Resolve(ctx, "main")
	}
	cfg, _, _ := projectconfig.Load(repo)
	st.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: sha, Valid: true, Settings: pipeline.SettingsOf(cfg)})
	if err := st.ActivateCommit(ctx, p.ID, sha); err != nil {
		t.Fatal(err)
	}
	run, err := st.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	const lease = 3 * time.Second
	servers := map[string]*exec.Cmd{}
	addrs := map[string]string{}
	for i := range replicas {
		data := filepath.Join(dir, "data"+strconv.Itoa(i))
		addr := freeAddr(t)
		cmd := exec.Command(os.Args[0], "-test.run=^TestServerHelper$")
		cmd.Env = append(os.Environ(), "POSML_TEST_SERVER_ARGS="+strings.Join([]string{"server", "--addr", addr, "--data-dir", data,
			"--db", u, "--no-scheduler", "--lease-timeout", lease.String(), "--replica-id", "r" + strconv.Itoa(i)}, "\x1f"))
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("replica %d output:\n%s", i, out.String())
			}
		})
		servers[data], addrs[data] = cmd, addr
	}
	var pid int
	for deadline := time.Now().Add(30 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(marker); err == nil {
			pid, _ = strconv.Atoi(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatal("the first attempt never started")
		}
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // the dead replica's orphan
	atts, err := st.Attempts(ctx, run.ID)
	if err != nil || len(atts) != 1 {
		t.Fatalf("attempts = %+v, %v", atts, err)
	}
	var victim string
	for data := range servers {
		if strings.HasPrefix(atts[0].LogPath, data+string(filepath.Separator)) {
			victim = data
		}
	}
	if victim == "" {
		t.Fatalf("no replica's runs directory holds %s", atts[0].LogPath)
	}
	// Every replica is ready.
	for data, addr := range addrs {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + "/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s not ready: %v", data, err)
			}
		}
	}
	// Kill it right after it renewed its lease: the worst case, a whole
	// lease to wait.
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	lease0 := func() (ms int64) {
		if err := raw.QueryRow(`SELECT lease_expires_at FROM run_attempts WHERE run_id = $1 AND n = 1`, int64(run.ID)).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	for was := lease0(); lease0() == was; time.Sleep(10 * time.Millisecond) {
	}
	killed := time.Now()
	if err := servers[victim].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	servers[victim].Wait()

	var got pipeline.Run
	for deadline := time.Now().Add(lease + 30*time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, err = st.PipelineRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		if got.State.Terminal() || time.Now().After(deadline) {
			break
		}
	}
	atts, _ = st.Attempts(ctx, run.ID)
	if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].Error != "replica lost" || atts[1].State != pipeline.Succeeded {
		t.Fatalf("run %s (%s), attempts %+v", got.State, got.Reason, atts)
	}
	if strings.HasPrefix(atts[1].LogPath, victim) {
		t.Errorf("attempt 2 ran in the dead replica's directory %s", atts[1].LogPath)
	}
	failover := atts[1].StartedAt.Sub(killed)
	t.Logf("failover: attempt 2 started %s after the kill (lease %s)", failover.Round(time.Millisecond), lease)
	if failover > lease+5*time.Second {
		t.Errorf("failover took %s; want at most %s", failover, lease+5*time.Second)
	}
	b, _ := os.ReadFile(shared)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 {
		t.Errorf("the script ran %d times; want 2 (one per attempt):\n%s", len(lines), b)
	}
	// A survivor's metrics: two replicas alive once the dead one's
	// heartbeat is older than its lease timeout; nothing running.
	for data, addr := range addrs {
		if data == victim {
			continue
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"\nposml_replicas_alive 2\n", "\nposml_leases_active 0\n", "\nposml_scheduler_lag_seconds "} {
			if !strings.Contains(string(m), want) {
				t.Errorf("/metrics of %s lacks %q", data, strings.TrimSpace(want))
			}
		}
		break
	}
}

// TestSecondSQLiteServerRefused: a server refuses a SQLite database that
// another live server on this machine uses.
func TestSecondSQLiteServerRefused(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:///" + filepath.Join(dir, "posml.db")
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	other := exec.Command("sleep", "30") // stands for the other server's process
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	host, _ := os.Hostname()
	r := sqlstore.Replica{ID: "first", Host: host, PID: other.Process.Pid, StartedAt: time.Now(), LeaseTimeout: time.Minute}
	if err := st.HeartbeatReplica(context.Background(), r, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var stderr syncBuffer
	err = Run(context.Background(), []string{"server", "--db", db, "--data-dir", dir, "--addr", freeAddr(t)}, strings.NewReader(""), io.Discard, &stderr, func(string) string { return "" })
	if want := "another posml server (pid " + strconv.Itoa(other.Process.Pid) + ", replica first) uses this SQLite database"; err == nil || !strings.Contains(stderr.String(), want) {
		t.Errorf("posml server = %v; stderr %q; want %q", err, stderr.String(), want)
	}
}

// TestReplicasOpenAtOnce: servers starting at once on a PostgreSQL
// database without experiments all open it: each finds no experiment, one
// creates the default experiment, and the others do not fail on it. (The
// test holds the inserts back until every opener has counted.)
func TestReplicasOpenAtOnce(t *testing.T) {
	u := postgresURL(t)
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM experiments`); err != nil {
		t.Fatal(err)
	}
	hold, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.Exec(`LOCK TABLE experiments IN EXCLUSIVE MODE`); err != nil { // reads pass, inserts wait
		t.Fatal(err)
	}
	const n = 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
			if err != nil {
				t.Errorf("open %d: %v", i, err)
				return
			}
			st.Close()
		})
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND relation = 'experiments'::regclass`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d openers wait to insert the default experiment", waiting, n)
		}
	}
	hold.Rollback()
	wg.Wait()
}

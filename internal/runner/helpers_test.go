package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/executor"
	"github.com/posml/posml/internal/gitrepo"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/sqlstore"
)

func python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	return p
}

// env is a test's world: a store, a clones directory, a runs directory.
type env struct {
	t       testing.TB
	store   *sqlstore.Store
	clones  string
	runsDir string
	home    string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	url := "sqlite:///" + filepath.Join(dir, "posml.db") + "?synchronous=off"
	if os.Getenv("POSML_BENCH_DURABLE") != "" { // the server's default: fsync at each commit
		url = "sqlite:///" + filepath.Join(dir, "posml.db")
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &env{t: t, store: s, clones: filepath.Join(dir, "clones"), runsDir: filepath.Join(dir, "runs"), home: filepath.Join(dir, "home")}
	os.MkdirAll(e.home, 0o755)
	return e
}

// configYAML is a project's src/config.yaml; extra adds lines.
func configYAML(name, extra string) string {
	return "proj_name: " + name + "\nmodel_name: " + name + "_model\nmart_id: m1\ntime_zone: Asia/Seoul\n" +
		"train_start_date: \"2026-03-01 00:00:00\"\ntrain_schedule_interval: \"@hourly\"\n" +
		"mlflow:\n  target_metric: accuracy_score\n" + extra
}

// trainHeader is the seed's header of src/train.py.
const trainHeader = `import os, sys, time
SRC_HOME = os.path.dirname(os.path.abspath(__file__))
sys.path.append(SRC_HOME)
`

// project makes a git repository with files (src/config.yaml and
// src/train.py at least), registers it like the project registry does (a
// bare clone in clones/<id>, the commit validated and active) and returns
// it.
func (e *env) project(name string, files map[string]string) pipeline.Project {
	t := e.t
	t.Helper()
	ctx := context.Background()
	work := filepath.Join(t.TempDir(), name)
	for path, text := range files {
		p := filepath.Join(work, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", ".")
	git("commit", "-q", "-m", "initial")
	sha := git("rev-parse", "HEAD")

	p, err := e.store.CreateProject(ctx, pipeline.Project{Name: name, RepoURL: work}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&gitrepo.Git{}).Clone(ctx, work, filepath.Join(e.clones, p.ID.String()), gitrepo.Auth{}); err != nil {
		t.Fatal(err)
	}
	cfg, diags, err := projectconfig.Load(work)
	if err != nil || cfg == nil {
		t.Fatalf("config: %v %v", diags, err)
	}
	for _, d := range diags {
		if d.Severity.String() == "error" {
			t.Fatalf("config: %v", d)
		}
	}
	if _, err := e.store.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: sha, Valid: true, Settings: pipeline.SettingsOf(cfg)}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ActivateCommit(ctx, p.ID, sha); err != nil {
		t.Fatal(err)
	}
	if p, err = e.store.Project(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	return p
}

// pool makes a pool over the env; mod adjusts its config.
func (e *env) pool(d Deps, mod func(*Config)) *Pool {
	cfg := Config{
		RunsDir:      e.runsDir,
		Python:       python(e.t),
		MaxParallel:  2,
		TrackingURI:  "http://127.0.0.1:5999",
		Home:         e.home,
		KillGrace:    time.Second,
		PollInterval: 50 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	if d.Store == nil {
		d.Store = e.store
	}
	if d.Backend == nil {
		d.Backend = &executor.Local{}
	}
	if d.Source == nil {
		d.Source = &GitSource{Dir: e.clones}
	}
	return New(d, cfg, nil)
}

// start runs the pool until the test ends.
func start(t testing.TB, p *Pool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// wait waits for a run to reach a terminal state.
func (e *env) wait(id pipeline.RunID, within time.Duration) pipeline.Run {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := e.store.PipelineRun(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if r.State.Terminal() {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s still %s after %s", id, r.State, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitState waits for a run to be in state st.
func (e *env) waitState(id pipeline.RunID, st pipeline.State, within time.Duration) pipeline.Run {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := e.store.PipelineRun(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if r.State == st {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s is %s after %s; want %s", id, r.State, within, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) attempts(id pipeline.RunID) []pipeline.Attempt {
	e.t.Helper()
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return as
}

func readLog(t testing.TB, a pipeline.Attempt) string {
	t.Helper()
	b, err := os.ReadFile(a.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

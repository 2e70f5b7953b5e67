package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posml/posml/internal/gitrepo"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projectconfig"
	"github.com/posml/posml/internal/sqlstore"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServerCommand starts `posml server` with settings from the
// environment, talks to it, and stops it by cancelling its context.
func TestServerCommand(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := map[string]string{"POSML_ADDR": addr, "POSML_DATA_DIR": filepath.Join(dir, "data")}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"server"}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return env[k] })
	}()
	base := "http://" + addr
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = http.Get(base + "/health"); err == nil {
			break
		}
	}
	if err != nil {
		cancel()
		t.Fatalf("server did not come up: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/api/2.0/mlflow/experiments/create", "application/json", strings.NewReader(`{"name":"cli"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"experiment_id":"1"}` {
		t.Fatalf("create experiment: %d %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server returned %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	// The defaults put the database and artifacts in the data directory.
	for _, p := range []string{"data/posml.db", "data/artifacts"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestServerFlagsWinOverEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"POSML_ADDR": "256.0.0.1:1", "POSML_DB": "mysql://nope"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	// A bad --db flag fails before listening; the env addr is never used.
	err := Run(ctx, []string{"server", "--db", "bogus://x", "--data-dir", dir}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(stderr.String(), "unsupported database URL bogus://x") {
		t.Fatalf("err = %v, stderr %q", err, stderr.String())
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/db": "postgres://u:xxxxx@h/db",
		"postgres://u@h/db":        "postgres://u@h/db",
		"sqlite:///x.db":           "sqlite:///x.db",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestServerRunsPipelines: `posml server` schedules and executes the
// pipelines of a registered project (registered here straight in the
// database and the registry's clone directory, as the project registry
// does), and queues manual runs; with --no-scheduler only the manual run
// happens.
func TestServerRunsPipelines(t *testing.T) {
	for _, noSched := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-scheduler=%v", noSched), func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			repo := filepath.Join(dir, "repo")
			writeFiles(t, repo, map[string]string{
				"src/config.yaml": "proj_name: srv\nmodel_name: srv\nmart_id: m\ntime_zone: Asia/Seoul\n" +
					"train_start_date: \"2026-01-01 00:00:00\"\ntrain_schedule_interval: \"@hourly\"\nmlflow:\n  target_metric: accuracy_score\n",
				"src/train.py": "import os\nprint('trained', os.environ['POSML_RUN_ID'], os.environ['MLFLOW_TRACKING_URI'])\n",
			})
			gitCommit(t, repo)
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:///" + filepath.Join(data, "posml.db")})
			if err != nil {
				t.Fatal(err)
			}
			p, err := st.CreateProject(ctx, pipeline.Project{Name: "srv", RepoURL: repo}, pipeline.Credentials{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := (&gitrepo.Git{}).Clone(ctx, repo, filepath.Join(data, "repos", p.ID.String()), gitrepo.Auth{})
			if err != nil {
				t.Fatal(err)
			}
			sha, _ := r.Resolve(ctx, "main")
			cfg, _, err := projectconfig.Load(repo)
			if err != nil {
				t.Fatal(err)
			}
			st.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: sha, Valid: true, Settings: pipeline.SettingsOf(cfg)})
			if err := st.ActivateCommit(ctx, p.ID, sha); err != nil {
				t.Fatal(err)
			}
			manual, err := st.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			addr := freeAddr(t)
			args := []string{"server", "--addr", addr, "--data-dir", data, "--max-parallel", "1"}
			if noSched {
				args = append(args, "--no-scheduler")
			}
			sctx, cancel := context.WithCancel(ctx)
			var stderr syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- Run(sctx, args, strings.NewReader(""), io.Discard, &stderr, func(string) string { return "" })
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("server: %v\n%s", err, stderr.String())
				}
			}()
			st, err = sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:///" + filepath.Join(data, "posml.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			want := 2 // the manual run and the latest @hourly fire
			if noSched {
				want = 1
			}
			var runs []pipeline.Run
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				runs, err = st.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p.ID, States: []pipeline.State{pipeline.Succeeded}})
				if err != nil {
					t.Fatal(err)
				}
				if len(runs) >= want || time.Now().After(deadline) {
					break
				}
			}
			if len(runs) != want {
				all, _ := st.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p.ID})
				t.Fatalf("%d succeeded runs; want %d: %+v\n%s", len(runs), want, all, stderr.String())
			}
			atts, _ := st.Attempts(ctx, manual.ID)
			b, _ := os.ReadFile(atts[0].LogPath)
			if !strings.Contains(string(b), "trained "+manual.ID.String()+" http://"+addr) {
				t.Errorf("manual run log:\n%s", b)
			}
			if !strings.HasPrefix(atts[0].LogPath, filepath.Join(data, "runs")) {
				t.Errorf("log at %s; want under data/runs", atts[0].LogPath)
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for path, text := range files {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func gitCommit(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "c"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

func TestTrackingURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000": "http://127.0.0.1:5000",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		":5000":          "http://127.0.0.1:5000",
		"[::]:5000":      "http://[::1]:5000",
		"host.lan:5000":  "http://host.lan:5000",
	} {
		if got := trackingURL(in); got != want {
			t.Errorf("trackingURL(%q) = %q; want %q", in, got, want)
		}
	}
}

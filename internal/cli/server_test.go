package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
				"src/train.py": "import os\nimport workbenchPy  # the SDK, on PYTHONPATH\nprint('trained', os.environ['POSML_RUN_ID'], os.environ['MLFLOW_TRACKING_URI'])\n",
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

// e2eTrain is a train.py that speaks the MLflow REST API with urllib, as
// an MLflow client would with MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN:
// one MLflow run with the metric METRIC (FIRST for the first run of the
// project, SECOND after, counted in the file RAN) and a logged model.
const e2eTrain = `import json, os, sys, time, urllib.request
SRC_HOME = os.path.dirname(os.path.abspath(__file__))
sys.path.append(SRC_HOME)

URI = os.environ["MLFLOW_TRACKING_URI"]
HDR = {"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]}

def call(method, path, body=None, data=None, ctype=None):
    h = dict(HDR)
    if ctype:
        h["Content-Type"] = ctype
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(URI + path, data=data, headers=h, method=method)
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if raw else {}

def train():
    ran = RAN  # one line per run so far, shared by all replicas
    n = len(open(ran).read().splitlines()) if os.path.exists(ran) else 0
    with open(ran, "a") as f:
        f.write(os.environ["POSML_RUN_ID"] + "\n")
    acc = FIRST if n == 0 else SECOND
    name = os.environ["MLFLOW_EXPERIMENT_NAME"]
    try:
        exp = call("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + name)["experiment"]["experiment_id"]
    except urllib.error.HTTPError:
        exp = call("POST", "/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"]
    run = call("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]
    rid = run["run_id"]
    call("POST", "/api/2.0/mlflow/runs/log-metric", {"run_id": rid, "key": METRIC, "value": acc, "timestamp": int(time.time() * 1000), "step": 0})
    call("PUT", "/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/model/MLmodel" % (exp, rid), data=b"flavors: {}\n", ctype="application/octet-stream")
    hist = [{"run_id": rid, "artifact_path": "model", "utc_time_created": "2026-01-01 00:00:00.000000", "flavors": {}}]
    call("POST", "/api/2.0/mlflow/runs/set-tag", {"run_id": rid, "key": "mlflow.log-model.history", "value": json.dumps(hist)})
    call("POST", "/api/2.0/mlflow/runs/update", {"run_id": rid, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    print("logged", rid, acc)

if __name__ == "__main__":
    train()
`

// TestServerEndToEnd: a project in a local git repository is registered
// through the REST API, fires on its schedule, and its run's MLflow run is
// tagged with the pipeline run; promotion registers a version and sets
// champion; a manual run with a worse metric is held.
func TestServerEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		metric        string
		first, second string
		outcome       string // of the second run
		champion      string // version after the second run
		// On PostgreSQL (POSML_TEST_POSTGRES_URL) and S3 (moto's server,
		// when the machine's Python has it), else SQLite and a directory.
		postgresS3 bool
	}{
		{"accuracy_score", "0.9", "0.8", "held", "1", false}, // higher is better: worse
		{"log_loss", "0.3", "0.2", "registered", "2", false}, // lower is better: better
		{"log_loss", "0.3", "0.2", "registered", "2", true},  // the same on PostgreSQL and S3
	} {
		name := tc.metric
		if tc.postgresS3 {
			name += "/postgres_s3"
		}
		t.Run(name, func(t *testing.T) {
			var args []string
			var env map[string]string
			if tc.postgresS3 {
				args = []string{"--db", postgresURL(t)}
				bucket, s3env, why := testS3Bucket(t)
				if bucket != "" {
					args, env = append(args, "--artifacts-destination", "s3://"+bucket+"/artifacts"), s3env
				} else {
					t.Logf("artifacts in a directory: %s", why)
				}
			}
			serverEndToEnd(t, tc.metric, tc.first, tc.second, tc.outcome, tc.champion, env, args...)
		})
	}
}

@@HELPER@@
// TestServerHelper is `posml server` in a child process for
// TestServerKill9; it is skipped otherwise.
func TestServerHelper(t *testing.T) {
	args := os.Getenv("POSML_TEST_SERVER_ARGS")
	if args == "" {
		t.Skip("helper process of TestServerKill9")
	}
	err := Run(context.Background(), strings.Split(args, "\x1f"), strings.NewReader(""), io.Discard, os.Stderr, func(string) string { return "" })
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// TestServerKill9: the server is killed with SIGKILL while a run's first
// attempt runs; the next server fails that attempt ("server restarted"),
// stops the process the dead server left behind, and runs the second
// attempt to success.
func TestServerKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	repo := filepath.Join(dir, "repo")
	writeFiles(t, repo, map[string]string{
		"src/config.yaml": "proj_name: k9\nmodel_name: k9\nmart_id: m\ntime_zone: UTC\n" +
			"train_start_date: \"2026-01-01 00:00:00\"\ntrain_schedule_interval: \"@hourly\"\nretries: 1\nmlflow:\n  target_metric: accuracy_score\n",
		"src/train.py": `import os, time
marker = os.path.join(os.environ["HOME"], "k9-pid")
if not os.path.exists(marker):
    open(marker + ".tmp", "w").write(str(os.getpid()))
    os.rename(marker + ".tmp", marker)
    time.sleep(120)
print("second attempt")
`,
	})
	gitCommit(t, repo)
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:///" + filepath.Join(data, "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.CreateProject(ctx, pipeline.Project{Name: "k9", RepoURL: repo}, pipeline.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := (&gitrepo.Git{}).Clone(ctx, repo, filepath.Join(data, "repos", p.ID.String()), gitrepo.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	sha, _ := r.Resolve(ctx, "main")
	cfg, _, _ := projectconfig.Load(repo)
	st.AddCommit(ctx, pipeline.Commit{ProjectID: p.ID, SHA: sha, Valid: true, Settings: pipeline.SettingsOf(cfg)})
	if err := st.ActivateCommit(ctx, p.ID, sha); err != nil {
		t.Fatal(err)
	}
	run, err := st.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual})
	if err != nil {
		t.Fatal(err)
	}
	server := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServerHelper$")
		cmd.Env = append(os.Environ(), "POSML_TEST_SERVER_ARGS="+strings.Join([]string{"server", "--addr", freeAddr(t), "--data-dir", data, "--no-scheduler"}, "\x1f"))
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("server output:\n%s", out.String())
			}
		})
		return cmd
	}
	first := server()
	pidFile := filepath.Join(data, "runs", "home", "k9-pid")
	var pid int
	for deadline := time.Now().Add(20 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatal("the first attempt never started")
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("the attempt's process %d died with the server; the test means to leave it behind", pid)
	}
	got, _ := st.PipelineRun(ctx, run.ID)
	if got.State != pipeline.Running {
		t.Fatalf("after kill -9: run %s", got.State)
	}

	server()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, err = st.PipelineRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		if got.State.Terminal() || time.Now().After(deadline) {
			break
		}
	}
	atts, _ := st.Attempts(ctx, run.ID)
	if got.State != pipeline.Succeeded || len(atts) != 2 || atts[0].Error != "server restarted" || atts[1].State != pipeline.Succeeded {
		t.Fatalf("run %s (%s), attempts %+v", got.State, got.Reason, atts)
	}
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the leftover process %d still runs", pid)
			break
		}
	}
	b, _ := os.ReadFile(atts[0].LogPath)
	if !strings.Contains(string(b), "server restarted while attempt 1 ran (its leftover process was stopped)") {
		t.Errorf("attempt 1 log:\n%s", b)
	}
}

// TestServerPortTaken: a server whose address is taken fails at once with
// the reason, instead of hanging in its background loops.
func TestServerPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "POSML_PYTHON" {
			return testPython()
		}
		return ""
	}
	start := time.Now()
	err = Run(ctx, []string{"server", "--addr", ln.Addr().String(), "--data-dir", t.TempDir(), "--no-scheduler"}, strings.NewReader(""), &out, &errOut, getenv)
	if err == nil {
		t.Fatal("server on a taken port returned no error")
	}
	if ctx.Err() != nil {
		t.Fatalf("server on a taken port hung until the test's deadline (%v)", time.Since(start))
	}
	if !strings.Contains(errOut.String()+err.Error(), "address already in use") {
		t.Errorf("error %v / stderr %q does not say the address is in use", err, errOut.String())
	}
}

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
// champion; a manual run with a worse metric is held. On PostgreSQL and S3
// also with three replicas: the fire starts once, and every replica serves
// what any of them did.
func TestServerEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		metric        string
		first, second string
		outcome       string // of the second run
		champion      string // version after the second run
		// On PostgreSQL (POSML_TEST_POSTGRES_URL) and S3 (moto's server,
		// when the machine's Python has it), else SQLite and a directory.
		postgresS3 bool
		replicas   int // servers on that database; 0: one
	}{
		{"accuracy_score", "0.9", "0.8", "held", "1", false, 0}, // higher is better: worse
		{"log_loss", "0.3", "0.2", "registered", "2", false, 0}, // lower is better: better
		{"log_loss", "0.3", "0.2", "registered", "2", true, 0},  // the same on PostgreSQL and S3
		{"log_loss", "0.3", "0.2", "registered", "2", true, 3},  // and on three replicas
		{"accuracy_score", "0.9", "0.8", "held", "1", true, 3},
	} {
		name := tc.metric
		if tc.postgresS3 {
			name += "/postgres_s3"
		}
		replicas := max(tc.replicas, 1)
		if replicas > 1 {
			name += fmt.Sprintf("/%d_replicas", replicas)
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
					if replicas > 1 { // shared by the replicas
						args = append(args, "--artifacts-destination", filepath.Join(t.TempDir(), "artifacts"))
					}
				}
			}
			serverEndToEnd(t, tc.metric, tc.first, tc.second, tc.outcome, tc.champion, replicas, env, args...)
		})
	}
}

// serverEndToEnd runs the test on replicas servers with the extra args
// and environment; several replicas share the database and the artifact
// store of args (--db postgres://...). The project is registered through
// the first replica, every replica's scheduler runs, the runs are watched
// and the second run is queued through the others. With several replicas
// it also checks that the fire started exactly once (in the database and
// by the script's own record) and that every replica serves the runs'
// MLflow runs and artifacts, and a log of a run another replica ran.
func serverEndToEnd(t *testing.T, metric, first, second, outcome, champion string, replicas int, env map[string]string, args ...string) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	ran := filepath.Join(dir, "ran") // the train script's record of its runs
	train := strings.NewReplacer("METRIC", strconv.Quote(metric), "FIRST", first, "SECOND", second, "RAN", strconv.Quote(ran)).Replace(e2eTrain)
	writeFiles(t, repo, map[string]string{
		"src/config.yaml": "proj_name: e2e\nmodel_name: e2e_model\nmart_id: m\ntime_zone: Asia/Seoul\n" +
			"train_start_date: \"2026-01-01 00:00:00\"\ntrain_schedule_interval: \"@hourly\"\nmlflow:\n  target_metric: " + metric + "\n",
		"src/train.py": train,
	})
	gitCommit(t, repo)
	bases, datas := make([]string, replicas), make([]string, replicas)
	stderrs := make([]syncBuffer, replicas)
	logs := func() string { // every replica's log, for failures
		if replicas == 1 {
			return stderrs[0].String()
		}
		var b strings.Builder
		for i := range stderrs {
			fmt.Fprintf(&b, "--- replica r%d:\n%s", i, stderrs[i].String())
		}
		return b.String()
	}
	for i := range replicas {
		addr := freeAddr(t)
		bases[i], datas[i] = "http://"+addr, filepath.Join(dir, "data")
		a := []string{"server", "--addr", addr, "--max-parallel", "1"}
		if replicas > 1 {
			datas[i] += strconv.Itoa(i)
			a = append(a, "--replica-id", "r"+strconv.Itoa(i), "--lease-timeout", "5s")
		}
		a = append(append(a, "--data-dir", datas[i]), args...)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, a, strings.NewReader(""), io.Discard, &stderrs[i], func(k string) string { return env[k] })
		}()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server r%d: %v", i, err)
			}
		}()
	}
	// A, B, C: the replica the project is registered through, the one the
	// runs are watched through, the one the second run is queued through
	// (all the same with one replica).
	A, B, C := 0, 1%replicas, 2%replicas
	call := func(i int, method, path, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, bases[i]+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			if p, ok := out.(*string); ok {
				*p = string(b)
			} else if json.Unmarshal(b, out) != nil {
				t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
		}
		return resp.StatusCode
	}
	for i := range replicas {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get(bases[i] + "/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("server r%d did not start\n%s", i, logs())
			}
		}
	}
	if code := call(A, "POST", "/api/posml/projects", `{"repo": "`+repo+`"}`, nil); code/100 != 2 {
		t.Fatalf("add project: %d\n%s", code, logs())
	}
	type run struct {
		ID          string    `json:"id"`
		State       string    `json:"state"`
		Cause       string    `json:"cause"`
		Reason      string    `json:"reason"`
		LogicalDate time.Time `json:"logical_date"`
		Outputs     []struct {
			MLflowRunID string `json:"mlflow_run_id"`
		} `json:"outputs"`
		Decisions []struct {
			Outcome    string `json:"outcome"`
			Reason     string `json:"reason"`
			NewVersion int64  `json:"new_version"`
			AliasMoved bool   `json:"alias_moved"`
		} `json:"promotion"`
	}
	waitRun := func(id string) run {
		t.Helper()
		var r run
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			call(B, "GET", "/api/posml/runs/"+id, "", &r)
			if r.State != "queued" && r.State != "running" && r.State != "" {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s still %s\n%s", id, r.State, logs())
			}
		}
	}
	// The scheduler fires the latest @hourly tick at once (no catch-up).
	var list struct {
		Runs []run `json:"runs"`
	}
	for deadline := time.Now().Add(10 * time.Second); len(list.Runs) == 0; time.Sleep(50 * time.Millisecond) {
		call(B, "GET", "/api/posml/runs?project=e2e", "", &list)
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled run\n%s", logs())
		}
	}
	fired := waitRun(list.Runs[0].ID)
	if fired.State != "succeeded" || fired.Cause != "schedule" || len(fired.Decisions) != 1 || fired.Decisions[0].Outcome != "registered" || !fired.Decisions[0].AliasMoved {
		t.Fatalf("scheduled run: %+v\n%s", fired, logs())
	}
	if replicas > 1 {
		// Every scheduler has had its look at the fire (they tick each
		// second): it started once, and the script ran once.
		time.Sleep(2500 * time.Millisecond)
		checkFiredOnce(t, dbOf(args), fired.ID, fired.LogicalDate, ran)
	}
	// served checks the MLflow run of pipeline run pr (the script logged
	// value) through every replica; with several replicas also the model
	// the script uploaded through the proxy of the replica that ran it,
	// and the run's log through a replica that did not run it.
	served := func(pr run, value string) {
		t.Helper()
		var search struct {
			Runs []struct {
				Info struct {
					RunID        string `json:"run_id"`
					ExperimentID string `json:"experiment_id"`
				} `json:"info"`
				Data struct {
					Tags []struct{ Key, Value string } `json:"tags"`
				} `json:"data"`
			} `json:"runs"`
		}
		for i := range replicas {
			call(i, "POST", "/api/2.0/mlflow/runs/search", `{"experiment_ids": ["1"], "filter": "tags.\"posml.pipeline_run_id\" = '`+pr.ID+`'"}`, &search)
			if len(search.Runs) != 1 {
				t.Fatalf("MLflow runs of pipeline run %s through r%d: %+v", pr.ID, i, search)
			}
			tags := map[string]string{}
			for _, tg := range search.Runs[0].Data.Tags {
				tags[tg.Key] = tg.Value
			}
			if tags["posml.project"] != "e2e" || len(tags["mlflow.source.git.commit"]) != 40 {
				t.Errorf("MLflow run tags through r%d: %v", i, tags)
			}
		}
		if replicas == 1 {
			return
		}
		info := search.Runs[0].Info
		for i := range replicas {
			var got string
			path := "/api/2.0/mlflow-artifacts/artifacts/" + info.ExperimentID + "/" + info.RunID + "/artifacts/model/MLmodel"
			if code := call(i, "GET", path, "", &got); code != 200 || got != "flavors: {}\n" {
				t.Errorf("GET %s through r%d: %d %q", path, i, code, got)
			}
		}
		by := ranBy(t, dbOf(args), pr.ID, datas)
		other := (by + 1) % replicas
		t.Logf("%s run %s ran on r%d; its log read through r%d", pr.Cause, pr.ID, by, other)
		var log string
		if code := call(other, "GET", "/api/posml/runs/"+pr.ID+"/logs", "", &log); code != 200 || !strings.Contains(log, "logged "+info.RunID+" "+value) {
			t.Errorf("log of run %s (ran on r%d) through r%d: %d %q", pr.ID, by, other, code, log)
		}
	}
	served(fired, first)
	var alias struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
	}
	for i := range replicas {
		call(i, "GET", "/api/2.0/mlflow/registered-models/alias?name=e2e_model&alias=champion", "", &alias)
		if alias.ModelVersion.Version != "1" {
			t.Errorf("champion through r%d = %+v; want version 1", i, alias)
		}
	}

	var next run
	if code := call(C, "POST", "/api/posml/runs", `{"project": "e2e"}`, &next); code/100 != 2 {
		t.Fatalf("manual run: %d", code)
	}
	next = waitRun(next.ID)
	if next.State != "succeeded" || next.Cause != "manual" || len(next.Decisions) != 1 || next.Decisions[0].Outcome != outcome {
		t.Errorf("manual run with %s %s after %s: %+v; want %s", metric, second, first, next, outcome)
	}
	for i := range replicas {
		call(i, "GET", "/api/2.0/mlflow/registered-models/alias?name=e2e_model&alias=champion", "", &alias)
		if alias.ModelVersion.Version != champion {
			t.Errorf("champion after the second run through r%d = %+v; want version %s", i, alias, champion)
		}
	}
	if replicas > 1 {
		served(next, second)
	}
	if b, _ := os.ReadFile(ran); len(strings.Fields(string(b))) != 2 {
		t.Errorf("the script ran for these runs; want 2 runs:\n%s", b)
	}
	if t.Failed() {
		t.Logf("server logs:\n%s", logs())
	}
}

// dbOf is the --db of a server's args.
func dbOf(args []string) string {
	for i, a := range args {
		if a == "--db" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// checkFiredOnce checks that the project's only scheduled run is fired
// (one run for its logical date in the database) and that the train
// script ran once, for it (its record in the file ran).
func checkFiredOnce(t *testing.T, db, fired string, logical time.Time, ran string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.ProjectByName(ctx, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := st.PipelineRuns(ctx, pipeline.RunFilter{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID.String() != fired || runs[0].Cause != pipeline.CauseSchedule || !runs[0].LogicalDate.Equal(logical) || runs[0].Attempts != 1 {
		t.Errorf("runs in the database: %+v; want the one scheduled run %s, one attempt", runs, fired)
	}
	if b, _ := os.ReadFile(ran); strings.TrimSpace(string(b)) != fired {
		t.Errorf("the script ran for these runs:\n%s\nwant once, for %s", b, fired)
	}
}

// ranBy is the index of the replica (by its data directory) that ran
// run id's last attempt.
func ranBy(t *testing.T, db, id string, datas []string) int {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rid, err := pipeline.ParseRunID(id)
	if err != nil {
		t.Fatal(err)
	}
	atts, err := st.Attempts(ctx, rid)
	if err != nil || len(atts) == 0 {
		t.Fatalf("attempts of run %s: %+v, %v", id, atts, err)
	}
	for i, d := range datas {
		if strings.HasPrefix(atts[len(atts)-1].LogPath, d+string(filepath.Separator)) {
			return i
		}
	}
	t.Fatalf("no replica's data directory holds the log %s", atts[len(atts)-1].LogPath)
	return -1
}

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

package restapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/forge"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projects"
	"github.com/posml/posml/internal/scaffold"
	"github.com/posml/posml/internal/sqlstore"
)

// The secrets of the tests; no response may contain them.
const (
	testToken  = "glpat-SECRET-token-4242"
	testSecret = "hook-SECRET-7777"
	testKey    = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktSECRET-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----\n"
)

func testPython() string {
	if p := os.Getenv("POSML_TEST_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func newRepo(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if _, err := scaffold.Write(dir, name); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "initial")
	return dir
}

type env struct {
	srv   *httptest.Server
	store *sqlstore.Store
}

func newEnv(t *testing.T, serverSecret string) *env {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := projects.New(st, st, projects.Config{Dir: filepath.Join(t.TempDir(), "repos"), Python: testPython()}, nil)
	h := Handler(Config{Projects: svc, Runs: st, WebhookSecret: serverSecret, PollInterval: 10 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{srv: srv, store: st}
}

// call does a request and decodes the JSON answer into out (when not nil);
// it returns the status and the raw body.
func (e *env) call(t *testing.T, method, path string, body any, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), testToken) || strings.Contains(string(b), testSecret) || strings.Contains(string(b), "SECRET-KEY-MATERIAL") || strings.Contains(string(b), "SLACKPATH") {
		t.Errorf("%s %s: a credential appears in the response: %s", method, path, b)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

func TestProjectsAPI(t *testing.T) {
	e := newEnv(t, "")
	repo := newRepo(t, "iris")
	head := git(t, repo, "rev-parse", "HEAD")

	var added SyncResult
	code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo, Token: testToken, WebhookSecret: testSecret,
		NotifyURLs: []string{"https://hooks.slack.com/services/T0/B0/SLACKPATH"}}, &added)
	if code != http.StatusCreated {
		t.Fatalf("add: %d %s", code, body)
	}
	if len(added.Project.NotifyURLs) != 1 || added.Project.NotifyURLs[0] != "https://hooks.slack.com/…" {
		t.Errorf("notify URLs shown as %q; want the host only", added.Project.NotifyURLs)
	}
	if added.Project.Name != "iris" || added.Activated != head || !added.Project.HasCredentials || len(added.New) != 1 || !added.New[0].Valid {
		t.Errorf("add: %+v", added)
	}

	var list struct{ Projects []Project }
	if code, body := e.call(t, "GET", "/api/posml/projects", nil, &list); code != 200 || len(list.Projects) != 1 {
		t.Errorf("list: %d %s", code, body)
	}
	var one Project
	if code, body := e.call(t, "GET", "/api/posml/projects/iris", nil, &one); code != 200 || one.ActiveCommit != head || len(one.Commits) != 1 || !one.Commits[0].Active {
		t.Errorf("get: %d %s", code, body)
	}

	for _, tc := range []struct {
		method, path string
		body         any
		want         int
		code         string
	}{
		{"GET", "/api/posml/projects/nope", nil, 404, "not_found"},
		{"POST", "/api/posml/projects", AddProject{Repo: repo}, 409, "exists"},
		{"POST", "/api/posml/projects", AddProject{}, 400, "invalid"},
		{"POST", "/api/posml/projects", map[string]string{"bogus": "x"}, 400, "invalid"},
		{"POST", "/api/posml/projects", AddProject{Repo: "/does/not/exist"}, 400, "invalid"},
		{"GET", "/api/posml/nothing", nil, 404, "not_found"},
		{"GET", "/api/posml/runs/abc", nil, 400, "invalid"},
		{"GET", "/api/posml/runs?state=bogus", nil, 400, "invalid"},
		{"POST", "/api/posml/runs", StartRun{Project: "iris", Pipeline: "deploy"}, 400, "invalid"},
	} {
		code, body := e.call(t, tc.method, tc.path, tc.body, nil)
		var eb ErrorBody
		json.Unmarshal([]byte(body), &eb)
		if code != tc.want || eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s %s: %d %s; want %d with code %s", tc.method, tc.path, code, body, tc.want, tc.code)
		}
	}

	var p Project
	if code, _ := e.call(t, "POST", "/api/posml/projects/iris/pause", nil, &p); code != 200 || !p.Paused {
		t.Errorf("pause: %d %+v", code, p)
	}
	if code, _ := e.call(t, "POST", "/api/posml/projects/iris/resume", nil, &p); code != 200 || p.Paused {
		t.Errorf("resume: %d %+v", code, p)
	}
	var sr SyncResult
	if code, body := e.call(t, "POST", "/api/posml/projects/iris/sync", nil, &sr); code != 200 || sr.Head != head || len(sr.New) != 0 {
		t.Errorf("sync: %d %s", code, body)
	}
	if code, body := e.call(t, "DELETE", "/api/posml/projects/iris", nil, nil); code != 204 {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, _ := e.call(t, "GET", "/api/posml/projects/iris", nil, nil); code != 404 {
		t.Errorf("get after delete: %d", code)
	}
}

func (e *env) hook(t *testing.T, path string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), testSecret) {
		t.Errorf("webhook answer contains the secret: %s", b)
	}
	return resp.StatusCode, string(b)
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t, "server-wide-secret")
	repo := newRepo(t, "iris")
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo, SSHKey: testKey, WebhookSecret: testSecret}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	cfg, _ := os.ReadFile(filepath.Join(repo, "src", "config.yaml"))
	os.WriteFile(filepath.Join(repo, "src", "config.yaml"), append(cfg, "\n# new\n"...), 0o644)
	git(t, repo, "commit", "-qam", "touch")
	head := git(t, repo, "rev-parse", "HEAD")

	gh := []byte(`{"ref":"refs/heads/main","before":"` + strings.Repeat("1", 40) + `","after":"` + head + `","repository":{"full_name":"g/iris","clone_url":"https://git.example.com/g/iris.git"}}`)
	gl := []byte(`{"object_kind":"push","ref":"refs/heads/main","before":"` + strings.Repeat("1", 40) + `","after":"` + head + `","project":{"path_with_namespace":"g/iris","git_http_url":"https://git.example.com/g/iris.git"}}`)
	sig := func(secret string) string { return "sha256=" + hex.EncodeToString(forge.Sign(gh, secret)) }
	for _, tc := range []struct {
		name, path string
		body       []byte
		header     map[string]string
		want       int
		status     string
	}{
		{"github bad signature", "/api/posml/hooks/github?project=iris", gh, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sig("wrong")}, 401, ""},
		{"github no signature", "/api/posml/hooks/github?project=iris", gh, map[string]string{"X-GitHub-Event": "push"}, 401, ""},
		{"gitlab bad token", "/api/posml/hooks/gitlab?project=iris", gl, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}, 401, ""},
		{"unknown forge", "/api/posml/hooks/bitbucket", gh, nil, 404, ""},
		{"unknown project", "/api/posml/hooks/github?project=nope", gh, nil, 404, ""},
		{"github ping", "/api/posml/hooks/github?project=iris", gh, map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sig(testSecret)}, 200, "ignored"},
		{"github ping, server secret", "/api/posml/hooks/github", []byte(`{"zen":"hi","repository":{"clone_url":"https://git.example.com/g/iris.git"}}`), map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(forge.Sign([]byte(`{"zen":"hi","repository":{"clone_url":"https://git.example.com/g/iris.git"}}`), "server-wide-secret"))}, 200, "ignored"},
		{"github ping, bad signature", "/api/posml/hooks/github", []byte(`{"zen":"hi"}`), map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sig("nope")}, 401, ""},
		{"no matching repository", "/api/posml/hooks/github", gh, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sig("server-wide-secret")}, 200, "ignored"},
		{"github project secret", "/api/posml/hooks/github?project=iris", gh, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sig(testSecret)}, 200, "synced"},
		{"gitlab server secret", "/api/posml/hooks/gitlab?project=iris&run=train", gl, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "server-wide-secret"}, 200, "synced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.hook(t, tc.path, tc.body, tc.header)
			var res WebhookResult
			json.Unmarshal([]byte(body), &res)
			if code != tc.want || res.Status != tc.status {
				t.Errorf("%d %s; want %d %q", code, body, tc.want, tc.status)
			}
		})
	}
	var p Project
	e.call(t, "GET", "/api/posml/projects/iris", nil, &p)
	if p.ActiveCommit != head {
		t.Errorf("after the push webhook: active %s; want %s", p.ActiveCommit, head)
	}
	var list struct{ Runs []Run }
	e.call(t, "GET", "/api/posml/runs?cause=webhook", nil, &list)
	if len(list.Runs) != 1 || list.Runs[0].Commit != head {
		t.Errorf("runs queued by the webhook: %+v; want one at %s", list.Runs, head)
	}
}

func TestRunsAPI(t *testing.T) {
	e := newEnv(t, "")
	repo := newRepo(t, "iris")
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	var run Run
	if code, body := e.call(t, "POST", "/api/posml/runs", StartRun{Project: "iris"}, &run); code != 201 || run.State != "queued" || run.Cause != "manual" || run.Pipeline != "train" {
		t.Fatalf("start: %d %s", code, body)
	}
	if run.MaxAttempts != 2 {
		t.Errorf("max attempts %d; want 2 (retries: 1 by default)", run.MaxAttempts)
	}
	var list struct{ Runs []Run }
	if code, _ := e.call(t, "GET", "/api/posml/runs?project=iris&pipeline=train&state=queued", nil, &list); code != 200 || len(list.Runs) != 1 {
		t.Errorf("list: %d %+v", code, list)
	}
	if code, _ := e.call(t, "GET", "/api/posml/runs?state=running", nil, &list); code != 200 || len(list.Runs) != 0 {
		t.Errorf("list running: %d %+v", code, list)
	}
	if code, _ := e.call(t, "POST", "/api/posml/runs/"+run.ID+"/retry", nil, nil); code != 409 {
		t.Errorf("retry of a queued run: %d; want 409", code)
	}
	if code, _ := e.call(t, "POST", "/api/posml/runs/"+run.ID+"/cancel", nil, &run); code != 200 || run.State != "canceled" {
		t.Errorf("cancel: %d %+v", code, run)
	}
	if code, _ := e.call(t, "POST", "/api/posml/runs/"+run.ID+"/retry", nil, &run); code != 200 || run.State != "queued" {
		t.Errorf("retry: %d %+v", code, run)
	}

	// A runner's attempt, played by hand: the log is followed live.
	ctx := context.Background()
	id, _ := pipeline.ParseRunID(run.ID)
	logPath := filepath.Join(t.TempDir(), "attempt-1.log")
	os.WriteFile(logPath, []byte("loading data\n"), 0o644)
	_, a, ok, err := e.store.StartAttempt(ctx, id, time.Now(), func(int) string { return logPath })
	if err != nil || !ok {
		t.Fatalf("start attempt: %v %v", ok, err)
	}
	resp, err := http.Get(e.srv.URL + "/api/posml/runs/" + run.ID + "/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	events := make(chan string, 100)
	go func() { // ends when the body is closed
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- ev + "|" + strings.TrimPrefix(line, "data: ")
				ev = ""
			}
		}
		close(events)
	}()
	next := func() string {
		select {
		case s := <-events:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
			return ""
		}
	}
	if got := next(); got != "attempt|1" {
		t.Errorf("first event %q", got)
	}
	if got := next(); got != "|loading data" {
		t.Errorf("event %q; want the first line", got)
	}
	f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("epoch 1 accuracy=0.9\nno newline at the end")
	f.Close()
	if got := next(); got != "|epoch 1 accuracy=0.9" {
		t.Errorf("event %q; want the appended line", got)
	}
	a.State, a.ExitCode = pipeline.Succeeded, 0
	if _, err := e.store.FinishAttempt(ctx, a, pipeline.Succeeded, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "|no newline at the end" {
		t.Errorf("event %q; want the last partial line", got)
	}
	if got := next(); !strings.HasPrefix(got, "end|") || !strings.Contains(got, `"succeeded"`) {
		t.Errorf("event %q; want end with the state", got)
	}

	// The plain log and the run with its attempts.
	code, body := e.call(t, "GET", "/api/posml/runs/"+run.ID+"/logs", nil, nil)
	if code != 200 || body != "loading data\nepoch 1 accuracy=0.9\nno newline at the end" {
		t.Errorf("logs: %d %q", code, body)
	}
	var full Run
	if code, _ := e.call(t, "GET", "/api/posml/runs/"+run.ID, nil, &full); code != 200 || full.State != "succeeded" || len(full.AttemptList) != 1 || full.AttemptList[0].ExitCode != 0 {
		t.Errorf("get run: %d %+v", code, full)
	}
}

func TestBackfill(t *testing.T) {
	e := newEnv(t, "")
	repo := newRepo(t, "iris") // @daily in Asia/Seoul from 2024-01-01, trigger mode
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, seoul)
	to := time.Date(2024, 3, 3, 12, 0, 0, 0, seoul)
	var res BackfillResult
	code, body := e.call(t, "POST", "/api/posml/backfill", Backfill{Project: "iris", From: from, To: to, DryRun: true}, &res)
	if code != 200 {
		t.Fatalf("dry run: %d %s", code, body)
	}
	want := []time.Time{from, from.AddDate(0, 0, 1), from.AddDate(0, 0, 2)}
	if len(res.LogicalDates) != len(want) || len(res.Runs) != 0 {
		t.Fatalf("dry run: %+v; want dates %v and no runs", res, want)
	}
	for i := range want {
		if !res.LogicalDates[i].Equal(want[i]) {
			t.Errorf("date %d = %v; want %v", i, res.LogicalDates[i], want[i])
		}
	}
	var list struct{ Runs []Run }
	e.call(t, "GET", "/api/posml/runs", nil, &list)
	if len(list.Runs) != 0 {
		t.Errorf("a dry run created %d runs", len(list.Runs))
	}
	if code, body := e.call(t, "POST", "/api/posml/backfill", Backfill{Project: "iris", From: from, To: to}, &res); code != 201 || len(res.Runs) != 3 || res.Runs[0].Cause != "backfill" {
		t.Errorf("backfill: %d %s", code, body)
	}
	// Again: the dates have runs already; nothing new.
	if code, body := e.call(t, "POST", "/api/posml/backfill", Backfill{Project: "iris", From: from, To: to}, &res); code != 201 || len(res.Runs) != 0 {
		t.Errorf("second backfill: %d %s", code, body)
	}
	if code, _ := e.call(t, "POST", "/api/posml/backfill", Backfill{Project: "iris", From: to, To: from}, nil); code != 400 {
		t.Errorf("reversed range: %d; want 400", code)
	}
}

func TestSyncFailure(t *testing.T) {
	e := newEnv(t, "")
	repo := newRepo(t, "iris")
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo, Token: testToken}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	if err := os.Rename(repo, repo+"-moved"); err != nil {
		t.Fatal(err)
	}
	code, body := e.call(t, "POST", "/api/posml/projects/iris/sync", nil, nil)
	var eb ErrorBody
	json.Unmarshal([]byte(body), &eb)
	if code != http.StatusBadGateway || eb.Error.Code != "sync_failed" {
		t.Errorf("sync of a vanished repository: %d %s; want 502 sync_failed", code, body)
	}
	var p Project
	e.call(t, "GET", "/api/posml/projects/iris", nil, &p)
	if p.SyncError == "" || p.ActiveCommit == "" {
		t.Errorf("after a failed sync: sync_error %q, active %q; want the error recorded and the commit still active", p.SyncError, p.ActiveCommit)
	}
}

// TestFollowAcrossRetry: a followed log goes on with the next attempt
// after a failed one, and ends with the run.
func TestFollowAcrossRetry(t *testing.T) {
	e := newEnv(t, "")
	repo := newRepo(t, "iris")
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	var run Run
	e.call(t, "POST", "/api/posml/runs", StartRun{Project: "iris"}, &run)
	id, _ := pipeline.ParseRunID(run.ID)
	ctx := context.Background()
	dir := t.TempDir()
	logOf := func(n int) string { return filepath.Join(dir, "attempt-"+string(rune('0'+n))+".log") }

	// Attempt 1 fails before anyone follows.
	os.WriteFile(logOf(1), []byte("first try\n"), 0o644)
	_, a, ok, err := e.store.StartAttempt(ctx, id, time.Now(), logOf)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	a.State, a.ExitCode = pipeline.Failed, 1
	if _, err := e.store.FinishAttempt(ctx, a, pipeline.Queued, "retrying", time.Time{}); err != nil {
		t.Fatal(err)
	}

	done := make(chan string)
	go func() {
		resp, err := http.Get(e.srv.URL + "/api/posml/runs/" + run.ID + "/logs?follow=1")
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	time.Sleep(50 * time.Millisecond)
	os.WriteFile(logOf(2), []byte("second try\n"), 0o644)
	_, a, ok, err = e.store.StartAttempt(ctx, id, time.Now(), logOf)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	time.Sleep(50 * time.Millisecond)
	a.State, a.ExitCode = pipeline.Succeeded, 0
	if _, err := e.store.FinishAttempt(ctx, a, pipeline.Succeeded, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	var got string
	select {
	case got = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end with the run")
	}
	want := "event: attempt\ndata: 1\n\ndata: first try\n\nevent: attempt\ndata: 2\n\ndata: second try\n\nevent: end\ndata: {\"reason\":\"\",\"state\":\"succeeded\"}\n\n"
	if got != want {
		t.Errorf("stream:\n%s\nwant:\n%s", got, want)
	}
}

func TestUpdateProject(t *testing.T) {
	e := newEnv(t, "")
	repo := newRepo(t, "iris")
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: repo}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	git(t, repo, "checkout", "-q", "-b", "release")
	cfg, _ := os.ReadFile(filepath.Join(repo, "src", "config.yaml"))
	os.WriteFile(filepath.Join(repo, "src", "config.yaml"), append(cfg, "\n# release\n"...), 0o644)
	git(t, repo, "commit", "-qam", "release")
	release := git(t, repo, "rev-parse", "HEAD")

	nope, release2 := "nope", "release"
	if code, body := e.call(t, "PATCH", "/api/posml/projects/iris", UpdateProject{Branch: &nope}, nil); code != 400 {
		t.Errorf("a branch the repository lacks: %d %s; want 400", code, body)
	}
	var res SyncResult
	if code, body := e.call(t, "PATCH", "/api/posml/projects/iris", UpdateProject{Branch: &release2}, &res); code != 200 || res.Project.Branch != "release" || res.Activated != release {
		t.Errorf("switch branch: %d %s", code, body)
	}
	urls := []string{"https://chat.example.com/hook/SLACKPATH"}
	secret := testSecret
	if code, body := e.call(t, "PATCH", "/api/posml/projects/iris", UpdateProject{Token: testToken, NotifyURLs: &urls, WebhookSecret: &secret}, &res); code != 200 || !res.Project.HasCredentials || len(res.Project.NotifyURLs) != 1 {
		t.Errorf("set credentials: %d %s", code, body)
	}
	if code, body := e.call(t, "PATCH", "/api/posml/projects/iris", UpdateProject{ClearCredentials: true}, &res); code != 200 || res.Project.HasCredentials {
		t.Errorf("clear credentials: %d %s", code, body)
	}
	if code, _ := e.call(t, "PATCH", "/api/posml/projects/iris", UpdateProject{ClearCredentials: true, Token: "x"}, nil); code != 400 {
		t.Errorf("clear and set at once: %d; want 400", code)
	}
	if code, _ := e.call(t, "PATCH", "/api/posml/projects/nope", UpdateProject{}, nil); code != 404 {
		t.Errorf("missing project: %d; want 404", code)
	}
}

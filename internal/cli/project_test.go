package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/scaffold"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
)

const cliSecretToken = "ghp-CLI-SECRET-TOKEN-31337"

// testServer is a real posml server (store, registry, REST API) on
// httptest.
type testServer struct {
	url   string
	store *sqlstore.Store
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(dir, "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nat := newNative(st, nativeConfig{DataDir: dir, Python: testPython()}, nil)
	srv := httptest.NewServer(server.New(server.Config{Native: nat.Handler}).Handler())
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, store: st}
}

// client runs a client command against the server (POSML_URL) and checks
// that no credential leaks into its output.
func (s *testServer) client(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "POSML_URL":
			return s.url
		case "POSML_PYTHON":
			return testPython()
		}
		return ""
	}
	err := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, getenv)
	if strings.Contains(out.String()+errOut.String(), cliSecretToken) {
		t.Errorf("posml %v printed the token:\n%s%s", args, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), ExitCode(err)
}

func gitCmd(t *testing.T, dir string, args ...string) string {
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

func newGitProject(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if _, err := scaffold.Write(dir, name); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "init", "-q", "-b", "main")
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "initial")
	return dir
}

func TestProjectCommands(t *testing.T) {
	s := startTestServer(t)
	repo := newGitProject(t, "iris")
	head := gitCmd(t, repo, "rev-parse", "HEAD")
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(cliSecretToken+"\n"), 0o600)

	out, errOut, code := s.client(t, "project", "add", repo, "--token-file", tokenFile)
	if code != 0 || !strings.Contains(out, "added project iris (branch main)") || !strings.Contains(out, "active commit: "+head[:10]+" (new)") {
		t.Fatalf("project add: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = s.client(t, "project", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "iris") || !strings.Contains(out, head[:10]) {
		t.Errorf("project list: exit %d\n%s", code, out)
	}
	out, _, code = s.client(t, "project", "show", "iris")
	if code != 0 || !strings.Contains(out, "credentials:   stored (not shown)") || !strings.Contains(out, "valid, active") {
		t.Errorf("project show: exit %d\n%s", code, out)
	}
	out, _, code = s.client(t, "project", "show", "iris", "--json")
	if code != 0 || !strings.Contains(out, `"has_credentials": true`) {
		t.Errorf("project show --json: exit %d\n%s", code, out)
	}

	// A broken push: recorded with its findings, not activated.
	cfgPath := filepath.Join(repo, "src", "config.yaml")
	cfg, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(cfg), `time_zone: Asia/Seoul`, `time_zone: Asia/Seol`, 1)), 0o644)
	gitCmd(t, repo, "commit", "-qam", "typo in the zone")
	out, _, code = s.client(t, "project", "sync", "iris")
	if code != 0 || !strings.Contains(out, "is NOT valid") || !strings.Contains(out, "time_zone") || !strings.Contains(out, "active commit: "+head[:10]) {
		t.Errorf("project sync of a broken commit: exit %d\n%s", code, out)
	}
	out, _, _ = s.client(t, "project", "show", "iris")
	if !strings.Contains(out, "INVALID") || !strings.Contains(out, "Asia/Seol") {
		t.Errorf("project show after a broken push:\n%s", out)
	}

	if out, errOut, code = s.client(t, "project", "set", "iris", "--clear-credentials", "--notify-url", "https://chat.example.com/hooks/x"); code != 0 || !strings.Contains(out, "project iris updated") {
		t.Errorf("project set: %d %s%s", code, out, errOut)
	}
	if out, _, _ = s.client(t, "project", "show", "iris"); !strings.Contains(out, "credentials:   none") || !strings.Contains(out, "notify:        https://chat.example.com/…") {
		t.Errorf("project show after set:\n%s", out)
	}
	if out, errOut, code = s.client(t, "project", "set", "iris", "--token-file", tokenFile); code != 0 {
		t.Errorf("project set --token-file: %d %s%s", code, out, errOut)
	}
	if out, _, code = s.client(t, "project", "pause", "iris"); code != 0 || !strings.Contains(out, "paused") {
		t.Errorf("pause: %d %s", code, out)
	}
	if out, _, code = s.client(t, "project", "resume", "iris"); code != 0 || !strings.Contains(out, "resumed") {
		t.Errorf("resume: %d %s", code, out)
	}
	if _, errOut, code = s.client(t, "project", "show", "nope"); code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("show of a missing project: %d %s", code, errOut)
	}
	if out, _, code = s.client(t, "project", "remove", "iris"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("remove: %d %s", code, out)
	}
}

func TestRunCommands(t *testing.T) {
	s := startTestServer(t)
	repo := newGitProject(t, "iris")
	if _, errOut, code := s.client(t, "project", "add", repo); code != 0 {
		t.Fatalf("add: %s", errOut)
	}
	out, _, code := s.client(t, "run", "iris")
	id := strings.TrimSpace(out)
	if code != 0 || id == "" {
		t.Fatalf("run: exit %d %q", code, out)
	}
	out, _, code = s.client(t, "runs", "list", "--project", "iris")
	if code != 0 || !strings.Contains(out, "queued") || !strings.Contains(out, "manual") {
		t.Errorf("runs list: %d\n%s", code, out)
	}
	if out, _, code = s.client(t, "runs", "cancel", id); code != 0 || !strings.Contains(out, "canceled") {
		t.Errorf("runs cancel: %d %s", code, out)
	}
	if out, _, code = s.client(t, "runs", "retry", id); code != 0 || !strings.Contains(out, "queued") {
		t.Errorf("runs retry: %d %s", code, out)
	}

	// run --wait follows the log of a run that a runner (played here)
	// executes and fails, and exits 1.
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "run.log")
	go func() {
		var runs []pipeline.Run
		for deadline := time.Now().Add(5 * time.Second); len(runs) == 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			runs, _ = s.store.PipelineRuns(ctx, pipeline.RunFilter{States: []pipeline.State{pipeline.Queued}})
		}
		for _, r := range runs {
			os.WriteFile(logPath, []byte("Traceback (most recent call last):\nValueError: bad data\n"), 0o644)
			_, a, ok, err := s.store.StartAttempt(ctx, r.ID, time.Now(), func(int) string { return logPath })
			if err != nil || !ok {
				t.Errorf("start attempt: %v %v", ok, err)
				return
			}
			a.State, a.ExitCode, a.Error = pipeline.Failed, 1, "exit status 1"
			s.store.FinishAttempt(ctx, a, pipeline.Failed, "exit status 1", time.Time{})
		}
	}()
	// The retried run holds max_active_runs; cancel it first.
	s.client(t, "runs", "cancel", id)
	out, errOut, code := s.client(t, "run", "iris", "--wait")
	if code != 1 || !strings.Contains(out, "ValueError: bad data") || !strings.Contains(errOut, "failed: exit status 1") {
		t.Errorf("run --wait: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = s.client(t, "runs", "show", strings.TrimSpace(strings.Fields(errOut)[1]))
	if code != 0 || !strings.Contains(out, "state:         failed") || !strings.Contains(out, "exit status 1") {
		t.Errorf("runs show: %d\n%s", code, out)
	}

	failed := strings.TrimSpace(strings.Fields(errOut)[1])
	if out, _, code = s.client(t, "runs", "logs", failed); code != 0 || out != "Traceback (most recent call last):\nValueError: bad data\n" {
		t.Errorf("runs logs: %d %q", code, out)
	}
	out, _, code = s.client(t, "runs", "list", "--state", "failed", "--json")
	var list struct{ Runs []struct{ ID, State string } }
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list.Runs) != 1 || list.Runs[0].ID != failed {
		t.Errorf("runs list --json: %d %v\n%s", code, err, out)
	}

	out, _, code = s.client(t, "backfill", "iris", "--from", "2024-03-01T00:00:00+09:00", "--to", "2024-03-02T00:00:00+09:00", "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: 2 logical dates") || !strings.Contains(out, "2024-03-01T00:00:00") {
		t.Errorf("backfill --dry-run: %d\n%s", code, out)
	}
}

func TestClientUnreachable(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"project", "list", "--url", "http://127.0.0.1:1"}, strings.NewReader(""), &out, &errOut,
		func(string) string { return "" })
	if ExitCode(err) != 1 || !strings.Contains(errOut.String(), "cannot reach the posml server at http://127.0.0.1:1") {
		t.Errorf("exit %d: %s", ExitCode(err), errOut.String())
	}
}

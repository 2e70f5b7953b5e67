package projects

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/forge"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/scaffold"
	"github.com/posml/posml/internal/sqlstore"
)

func testPython() string {
	if p := os.Getenv("POSML_TEST_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// git runs git in dir with a fixed identity.
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

// newRepo makes a git repository holding the template project name, with
// one commit on main, and returns its directory.
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

// commitFile writes a file and commits it; it returns the new head.
func commitFile(t *testing.T, dir, rel, content, msg string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newService(t *testing.T, st *sqlstore.Store) *Service {
	return New(st, st, Config{Dir: filepath.Join(t.TempDir(), "repos"), Python: testPython()}, nil)
}

func TestAddSyncInvalidCommit(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, "iris")
	first := git(t, repo, "rev-parse", "HEAD")
	st := newStore(t)
	svc := newService(t, st)

	res, err := svc.Add(ctx, AddRequest{Repo: repo, Credentials: pipeline.Credentials{Token: "s3cret-token-value", WebhookSecret: "hooksecret"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Project.Name != "iris" || res.Project.Branch != "main" {
		t.Errorf("project = %s on %s; want iris on main (the config's proj_name)", res.Project.Name, res.Project.Branch)
	}
	if res.Activated != first || res.Project.ActiveCommit != first || res.New == nil || !res.New.Valid {
		t.Fatalf("after add: activated %q, active %q, new %+v; want %s active", res.Activated, res.Project.ActiveCommit, res.New, first)
	}
	if !res.Project.HasCredentials {
		t.Error("HasCredentials = false")
	}
	if _, err := st.GetRegisteredModel(ctx, "iris"); err != nil {
		t.Errorf("registered model iris not created on activation: %v", err)
	}

	// A second add of the same name is refused.
	if _, err := svc.Add(ctx, AddRequest{Repo: repo}); posml.KindOf(err) != posml.KindExists {
		t.Errorf("second add: err = %v; want KindExists", err)
	}

	// A push with a broken config is recorded invalid; the active commit stays.
	cfg, _ := os.ReadFile(filepath.Join(repo, "src", "config.yaml"))
	broken := strings.Replace(string(cfg), `train_schedule_interval: "@daily"`, `train_schedule_interval: "@fortnightly"`, 1)
	if broken == string(cfg) {
		t.Fatal("template changed: no @daily train schedule to break")
	}
	bad := commitFile(t, repo, "src/config.yaml", broken, "break the schedule")
	res, err = svc.Sync(ctx, "iris")
	if err != nil {
		t.Fatal(err)
	}
	if res.New == nil || res.New.SHA != bad || res.New.Valid {
		t.Fatalf("sync of a broken commit: new = %+v; want %s recorded invalid", res.New, bad)
	}
	if !strings.Contains(string(res.New.Validation), "fortnightly") {
		t.Errorf("findings do not mention the bad interval: %s", res.New.Validation)
	}
	if res.Activated != "" || res.Project.ActiveCommit != first || res.Project.HeadCommit != bad {
		t.Errorf("after a broken push: activated %q, active %q, head %q; want %s still active", res.Activated, res.Project.ActiveCommit, res.Project.HeadCommit, first)
	}

	// A sync with nothing new validates nothing.
	if res, err = svc.Sync(ctx, "iris"); err != nil || res.New != nil {
		t.Errorf("idle sync: new = %+v, err = %v", res.New, err)
	}

	// The fix becomes active.
	good := commitFile(t, repo, "src/config.yaml", string(cfg), "fix")
	if res, err = svc.Sync(ctx, "iris"); err != nil || res.Activated != good {
		t.Errorf("sync of the fix: activated %q, err %v; want %s", res.Activated, err, good)
	}
	cs, err := svc.Commits(ctx, res.Project, 10)
	if err != nil || len(cs) != 3 {
		t.Errorf("commits: %d, %v; want 3", len(cs), err)
	}

	p, err := svc.SetPaused(ctx, "iris", true)
	if err != nil || !p.Paused {
		t.Errorf("pause: %v, paused %v", err, p.Paused)
	}
	if err := svc.Remove(ctx, "iris"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, "iris"); !errorsIsNotFound(err) {
		t.Errorf("after remove: %v", err)
	}
}

func errorsIsNotFound(err error) bool { return posml.KindOf(err) == posml.KindNotFound }

func TestAddErrors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	svc := newService(t, st)
	repo := newRepo(t, "iris")
	for _, tc := range []struct {
		name string
		req  AddRequest
	}{
		{"no repo", AddRequest{}},
		{"missing path", AddRequest{Repo: filepath.Join(t.TempDir(), "nope")}},
		{"no such branch", AddRequest{Repo: repo, Branch: "develop"}},
		{"bad name", AddRequest{Repo: repo, Name: "a b"}},
		{"token and key", AddRequest{Repo: repo, Credentials: pipeline.Credentials{Token: "t", SSHKey: []byte("k")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := svc.Add(ctx, tc.req); posml.KindOf(err) != posml.KindInvalid {
				t.Errorf("err = %v; want KindInvalid", err)
			}
		})
	}
	ps, _ := st.Projects(ctx)
	if len(ps) != 0 {
		t.Errorf("%d projects left after failed adds", len(ps))
	}
}

func TestSplitCredentials(t *testing.T) {
	u, c, err := splitCredentials("https://oauth2:tok123456@git.example.com/g/p.git", pipeline.Credentials{})
	if err != nil || u != "https://git.example.com/g/p.git" || c.Token != "tok123456" || c.Username != "oauth2" {
		t.Errorf("got %q %q %q %v", u, c.Username, c.Token, err)
	}
}

func TestPollAndPush(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	repo := newRepo(t, "iris")
	st := newStore(t)
	tick := make(chan time.Time)
	svc := New(st, st, Config{Dir: t.TempDir(), Python: testPython(), PollInterval: time.Minute,
		After: func(time.Duration) <-chan time.Time { return tick }}, nil)
	if _, err := svc.Add(ctx, AddRequest{Repo: repo}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	cfg, _ := os.ReadFile(filepath.Join(repo, "src", "config.yaml"))
	head := commitFile(t, repo, "src/config.yaml", string(cfg)+"\n# touched\n", "touch")
	tick <- time.Now()
	tick <- time.Now() // the first poll is over once the loop takes the second tick
	p, _ := svc.Get(ctx, "iris")
	if p.ActiveCommit != head {
		t.Errorf("after a poll: active %q; want %s", p.ActiveCommit, head)
	}
	cancel()
	<-done

	// A push matches a project by its remote URL; a local path matches none.
	push := &forge.Push{Branch: "main", URLs: []string{"https://git.example.com/g/iris.git", "git@git.example.com:g/iris.git"}}
	if ms, _ := svc.Matching(context.Background(), push); len(ms) != 0 {
		t.Errorf("a local project matched a remote push: %v", ms)
	}
	if _, err := st.CreateProject(context.Background(), pipeline.Project{Name: "remote", RepoURL: "ssh://git@git.example.com:2222/G/iris"}, pipeline.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := svc.Matching(context.Background(), push); len(ms) != 1 || ms[0].Name != "remote" {
		t.Errorf("push matched %v; want the project of the same repository", ms)
	}
}

// TestExecutorPolicyAtActivation: a commit asking for a backend the server
// does not run, or more GPUs than it allows, is recorded invalid with a
// finding that says why, and does not replace the active commit; the same
// commit is valid on a server that runs the backend.
func TestExecutorPolicyAtActivation(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, "iris")
	first := git(t, repo, "rev-parse", "HEAD")
	st := newStore(t)
	svc := New(st, st, Config{Dir: filepath.Join(t.TempDir(), "repos"), Python: testPython(),
		Executor: pipeline.ExecutorPolicy{Allowed: []string{"local", "slurm"}, MaxGPU: 2}}, nil)
	if res, err := svc.Add(ctx, AddRequest{Repo: repo}); err != nil || res.Activated != first {
		t.Fatalf("add: activated %q, err %v", res.Activated, err)
	}
	cfg, _ := os.ReadFile(filepath.Join(repo, "src", "config.yaml"))
	for _, tc := range []struct{ section, want string }{
		{"executor:\n  backend: kubernetes\n  image: python:3.11\n", "kubernetes is not enabled on this server (enabled: local, slurm)"},
		{"executor:\n  backend: slurm\n  resources: {gpu: 3}\n", "3 GPUs asked, but this server allows at most 2 per attempt"},
	} {
		sha := commitFile(t, repo, "src/config.yaml", string(cfg)+tc.section, "executor")
		res, err := svc.Sync(ctx, "iris")
		if err != nil {
			t.Fatal(err)
		}
		if res.New == nil || res.New.SHA != sha || res.New.Valid || res.Activated != "" || res.Project.ActiveCommit != first {
			t.Fatalf("%q: new %+v, activated %q, active %q; want invalid, %s still active", tc.section, res.New, res.Activated, res.Project.ActiveCommit, first)
		}
		if !strings.Contains(string(res.New.Validation), tc.want) {
			t.Errorf("findings %s do not say %q", res.New.Validation, tc.want)
		}
	}
	sha := commitFile(t, repo, "src/config.yaml", string(cfg)+"executor:\n  backend: slurm\n  resources: {gpu: 2}\n", "two gpus")
	res, err := svc.Sync(ctx, "iris")
	if err != nil || res.Activated != sha {
		t.Fatalf("allowed executor: activated %q, err %v; want %s", res.Activated, err, sha)
	}
	p, _ := svc.Get(ctx, "iris")
	cs, _ := svc.Commits(ctx, p, 1)
	if len(cs) == 0 || cs[0].Settings.Executor.Backend != "slurm" || cs[0].Settings.Executor.GPU != 2 {
		t.Errorf("stored settings: %+v; want the executor section", cs)
	}
}

// TestAddDefaultBranch: without --branch, a project follows the branch
// the repository's HEAD names (here master), not "main".
func TestAddDefaultBranch(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, "iris")
	git(t, repo, "branch", "-m", "main", "master")
	st := newStore(t)
	res, err := newService(t, st).Add(ctx, AddRequest{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	if res.Project.Branch != "master" || res.Activated == "" {
		t.Errorf("project follows %q, activated %q; want master, its head active", res.Project.Branch, res.Activated)
	}
}

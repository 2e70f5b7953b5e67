package gitrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCtx returns a context that ends with the test, bounded by a minute.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// gitEnv is the environment of the test's own git commands (the ones that
// make source repositories): no user config, fixed identity and dates.
func gitEnv(home string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Kim Minji",
		"GIT_AUTHOR_EMAIL=minji@example.com",
		"GIT_COMMITTER_NAME=posml test",
		"GIT_COMMITTER_EMAIL=test@example.com",
		"LC_ALL=C",
	}
}

// gitT runs a git command for the test in dir and returns its trimmed
// stdout.
func gitT(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(t.TempDir()), env...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// source is a work-tree repository a test commits to, the "remote".
type source struct {
	t   testing.TB
	dir string
	n   int // commits made, for distinct dates
}

func newSource(t testing.TB) *source {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "project")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitT(t, dir, nil, "init", "--quiet", "--initial-branch=main")
	return &source{t: t, dir: dir}
}

// commit writes files (path → content; "" content deletes the file; a
// content starting with "-> " makes a symlink to the rest) and commits them
// with msg, returning the commit id.
func (s *source) commit(msg string, files map[string]string) string {
	s.t.Helper()
	for name, content := range files {
		p := filepath.Join(s.dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil {
				s.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				s.t.Fatal(err)
			}
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			s.t.Fatal(err)
		}
	}
	s.n++
	date := time.Date(2024, 3, 12, 1, 15, s.n, 0, time.UTC).Format(time.RFC3339)
	env := []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
	gitT(s.t, s.dir, env, "add", "--all")
	gitT(s.t, s.dir, env, "commit", "--quiet", "--allow-empty", "-m", msg)
	return gitT(s.t, s.dir, nil, "rev-parse", "HEAD")
}

// sampleFiles is a small project like the ones posml runs.
func sampleFiles() map[string]string {
	return map[string]string{
		"README.md":              "# iris\n",
		"requirements.txt":       "PyYAML\n",
		"src/config.yaml":        "proj_name: iris\nmodel_name: iris\n",
		"src/config.py":          "import yaml\n",
		"src/train.py":           "def train():\n    print('train')\n\nif __name__ == \"__main__\":\n    train()\n",
		"src/train_trigger.py":   "def train_trigger(**kwargs):\n    return True\n",
		"src/load_data.py":       "def load_data():\n    return []\n",
		"src/preprocess.py":      "def preprocess(d):\n    return d\n",
		"src/modeling.py":        "def modeling(x, y):\n    return None\n",
		"src/model_evaluate.py":  "def evaluate(m):\n    return 1.0\n",
		"scripts/run.sh":         "#!/bin/sh\necho run\n",
		"data/schema/fields.txt": "sepal_length\nsepal_width\n",
	}
}

// readTree returns the files under dir as path → content (symlinks as
// "-> target"), skipping nothing, and fails on a .git entry.
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Name() == ".git" {
			t.Errorf("checkout has %s", rel)
		}
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got[filepath.ToSlash(rel)] = "-> " + target
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

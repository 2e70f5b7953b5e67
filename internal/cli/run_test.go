package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// localTrain prints what a platform run sees: its environment and the
// merged config's mlflow section; FAIL makes it fail.
const localTrain = `import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

import config


def train():
    conf = config.load()
    for k in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "POSML_RUN_ID", "POSML_PROJECT", "POSML_GIT_COMMIT"):
        print(k + "=" + os.environ.get(k, ""))
    print("tracking_uri=" + str(conf["mlflow"].get("tracking_uri")))
    print("register_model=" + str(conf["mlflow"].get("register_model")))
    from workbenchPy import GetMartData  # the SDK, as on the platform
    print("sdk=" + GetMartData.__module__)
    if os.path.exists(os.path.join(SRC_HOME, "FAIL")):
        sys.exit(3)


if __name__ == "__main__":
    train()
`

func TestRunLocal(t *testing.T) {
	s := startTestServer(t)
	repo := newGitProject(t, "iris")
	os.WriteFile(filepath.Join(repo, "src", "train.py"), []byte(localTrain), 0o644)
	gitCmd(t, repo, "commit", "-qam", "print the environment")
	head := gitCmd(t, repo, "rev-parse", "HEAD")

	out, errOut, code := s.client(t, "run", "--local", repo)
	if code != 0 {
		t.Fatalf("run --local: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"MLFLOW_TRACKING_URI=" + s.url, "MLFLOW_EXPERIMENT_NAME=iris", "POSML_RUN_ID=local", "POSML_PROJECT=iris",
		"POSML_GIT_COMMIT=" + head, "tracking_uri=" + s.url, "register_model=iris", "sdk=posml.marts",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, "config.yaml")); err == nil {
		t.Error("run --local wrote config.yaml into the project itself")
	}

	// A failing train.py fails the command; an invalid project does not run.
	os.WriteFile(filepath.Join(repo, "src", "FAIL"), nil, 0o644)
	if _, errOut, code := s.client(t, "run", "--local", repo); code != 1 || !strings.Contains(errOut, "exit status 3") {
		t.Errorf("failing train.py: exit %d\n%s", code, errOut)
	}
	os.Remove(filepath.Join(repo, "src", "train.py"))
	if out, errOut, code := s.client(t, "run", "--local", repo); code != 1 || !strings.Contains(errOut, "not valid") || strings.Contains(out, "POSML_RUN_ID") {
		t.Errorf("invalid project: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := s.client(t, "run"); code != 2 {
		t.Errorf("run without a project: exit %d; want 2", code)
	}
}

package scaffold

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/rules"
)

const testPython = "/usr/bin/python3"

var wantFiles = []string{
	".gitignore",
	"README.md",
	"requirements.txt",
	"src/config.py",
	"src/config.yaml",
	"src/load_data.py",
	"src/model_evaluate.py",
	"src/modeling.py",
	"src/preprocess.py",
	"src/train.py",
	"src/train_trigger.py",
}

// newProject writes the template for name into a new directory.
func newProject(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	got, err := Write(dir, name)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if diff := cmp.Diff(wantFiles, got); diff != "" {
		t.Fatalf("Write returned (-want +got):\n%s", diff)
	}
	return dir
}

func needPython(t *testing.T, modules ...string) {
	t.Helper()
	if _, err := os.Stat(testPython); err != nil {
		t.Skipf("needs %s", testPython)
	}
	for _, m := range modules {
		if err := exec.Command(testPython, "-c", "import "+m).Run(); err != nil {
			hint := ""
			if m == "yaml" {
				hint = " (apt-get install python3-yaml)"
			}
			t.Skipf("needs the Python module %s in %s%s", m, testPython, hint)
		}
	}
}

// python runs script with /usr/bin/python3 in dir and returns its output.
func python(t *testing.T, dir string, env []string, script string) string {
	t.Helper()
	cmd := exec.Command(testPython, "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

func TestWrite(t *testing.T) {
	dir := newProject(t, "iris-knn")
	for _, f := range wantFiles {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "{{") || strings.Contains(string(b), "<no value>") {
			t.Errorf("%s: unrendered template text", f)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "src", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nproj_name: iris-knn\n", "\nmodel_name: iris-knn\n", "\nmart_id:\n", "\ntime_zone: Asia/Seoul\n",
		"\ndate_format: \"%Y-%m-%d %H:%M:%S\"\n", "\ntrain_start_date: \"2024-01-01 00:00:00\"\n",
		"\ntrain_schedule_interval: \"@daily\"\n", "\ntrain_trigger_start_date: \"2024-01-01 00:00:00\"\n",
		"\ntrain_trigger_schedule_interval: \"@daily\"\n", "\nmlflow:\n", "\n  target_metric: accuracy_score\n",
	} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("src/config.yaml lacks %q", want)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	t.Run("bad names", func(t *testing.T) {
		for _, name := range []string{"", "Iris", "1iris", "-iris", "iris-", "iris_knn", "iris.knn", "ïris", strings.Repeat("a", 64)} {
			dir := filepath.Join(t.TempDir(), "p")
			_, err := Write(dir, name)
			if posml.KindOf(err) != posml.KindInvalid || !strings.Contains(err.Error(), "invalid project name") {
				t.Errorf("Write(%q) = %v; want an invalid-name error", name, err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Write(%q) created %s", name, dir)
			}
		}
	})
	t.Run("good names", func(t *testing.T) {
		for _, name := range []string{"a", "iris", "iris-knn-2", strings.Repeat("a", 63)} {
			if _, err := Write(filepath.Join(t.TempDir(), "p"), name); err != nil {
				t.Errorf("Write(%q): %v", name, err)
			}
		}
	})
	t.Run("non-empty dir", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Write(dir, "iris")
		if err == nil || !strings.Contains(err.Error(), dir) || posml.KindOf(err) != posml.KindExists {
			t.Fatalf("Write into a non-empty dir = %v; want an error naming %s", err, dir)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("Write left %d entries; want only notes.txt", len(entries))
		}
	})
	t.Run("empty dir is fine", func(t *testing.T) {
		if _, err := Write(t.TempDir(), "iris"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a file in the way", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "iris")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Write(p, "iris"); err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("Write onto a file = %v; want an error naming it", err)
		}
	})
}

func TestPythonCompiles(t *testing.T) {
	needPython(t)
	dir := newProject(t, "iris")
	args := []string{"-m", "py_compile"}
	for _, f := range wantFiles {
		if strings.HasSuffix(f, ".py") {
			args = append(args, filepath.Join(dir, filepath.FromSlash(f)))
		}
	}
	if out, err := exec.Command(testPython, args...).CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}
}

func TestPassesRules(t *testing.T) {
	needPython(t)
	dir := newProject(t, "iris")
	ds, err := rules.Check(context.Background(), dir, rules.Options{Python: testPython, TriggerRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		t.Errorf("rules: %s", d)
	}
}

func TestConfigMerge(t *testing.T) {
	needPython(t, "yaml")
	dir := newProject(t, "iris")
	system := `mlflow:
  tracking_uri: http://mlflow.internal:5000
  experiment_name: iris-exp
  register_model: iris-model
time_zone: UTC
model_name: [a, b]
mart_id:
`
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(system), 0o644); err != nil {
		t.Fatal(err)
	}
	// From another working directory, as the platform's trigger would.
	out := python(t, t.TempDir(), nil, `
import sys
sys.path.insert(0, `+pyString(filepath.Join(dir, "src"))+`)
from config import config as conf, merge
m = conf["mlflow"]
assert m == {"target_metric": "accuracy_score", "tracking_uri": "http://mlflow.internal:5000",
             "experiment_name": "iris-exp", "register_model": "iris-model"}, m
assert conf["time_zone"] == "UTC", conf["time_zone"]
assert conf["model_name"] == ["a", "b"], conf["model_name"]
assert conf["proj_name"] == "iris", conf["proj_name"]
assert conf["date_format"] == "%Y-%m-%d %H:%M:%S", conf["date_format"]
assert conf["train_schedule_interval"] == "@daily"
assert conf["mart_id"] is None

# merge: mappings recursively, scalars and lists replaced, null keeps the user's value.
user = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": 1}
got = merge(user, {"a": {"c": [3], "d": {"h": 2}}, "f": None, "g": {"k": 1}})
assert got == {"a": {"b": 1, "c": [3], "d": {"e": 1, "h": 2}}, "f": "x", "g": {"k": 1}}, got
assert user == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": 1}, "merge modified its input"
print("ok")
`)
	if strings.TrimSpace(out) != "ok" {
		t.Errorf("output %q", out)
	}

	// Without a system config the user config is the config.
	if err := os.Remove(filepath.Join(dir, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	python(t, dir, nil, `
import sys
sys.path.insert(0, "src")
from config import config as conf
assert conf["mlflow"] == {"target_metric": "accuracy_score"}, conf["mlflow"]
`)
}

// stubs makes the template's modules importable without mlflow, scikit-learn,
// pandas or PyYAML: every third-party module is a stub, and config is given.
const stubs = `
import sys, types

class Stub(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Stub(self.__name__ + "." + attr)

for name in ["mlflow", "mlflow.sklearn", "mlflow.exceptions", "pandas", "sklearn", "sklearn.metrics",
             "sklearn.model_selection", "sklearn.neighbors", "sklearn.preprocessing", "yaml"]:
    sys.modules[name] = Stub(name)
config = types.ModuleType("config")
config.config = {"proj_name": "iris", "mlflow": {"target_metric": "log_loss"}}
sys.modules["config"] = config
sys.path.insert(0, "src")
`

func TestMetricDirection(t *testing.T) {
	needPython(t)
	dir := newProject(t, "iris")
	python(t, dir, nil, stubs+`
from modeling import better, metric_direction
import model_evaluate  # importable too

assert metric_direction("log_loss") == "minimize"
assert metric_direction("training_log_loss") == "minimize"
assert metric_direction("mean_squared_error") == "minimize"
for m in ["accuracy_score", "f1_score", "roc_auc", "r2_score", "training_score"]:
    assert metric_direction(m) == "maximize", m
assert metric_direction("log_loss", "maximize") == "maximize"
assert metric_direction("accuracy_score", " Minimize ") == "minimize"
try:
    metric_direction("log_loss", "lower")
    raise AssertionError("want ValueError for a bad direction")
except ValueError:
    pass

def pick(scores, direction):
    best = None
    for s in scores:
        if better(s, best, direction):
            best = s
    return best

assert pick([0.5, 0.2, 0.3], metric_direction("log_loss")) == 0.2
assert pick([0.5, 0.9, 0.7], metric_direction("accuracy_score")) == 0.9
assert pick([0.9, 0.9], "maximize") == 0.9
assert not better(0.9, 0.9, "maximize"), "a tie keeps the champion"
assert better(0.1, None, "minimize") and better(0.1, float("nan"), "minimize")
assert not better(None, 0.1, "minimize") and not better(float("nan"), 0.1, "maximize")
assert model_evaluate.registered_model_name() == "iris"
`)
}

// TestTrainEndToEnd runs src/train.py's train() on the bundled iris data with
// real pandas and scikit-learn and a fake mlflow (testdata/fakemlflow).
func TestTrainEndToEnd(t *testing.T) {
	needPython(t, "yaml", "pandas", "sklearn")
	dir := newProject(t, "iris")
	fake, err := filepath.Abs(filepath.Join("testdata", "fakemlflow"))
	if err != nil {
		t.Fatal(err)
	}
	out := python(t, dir, []string{"PYTHONPATH=" + fake, "PYTHONDONTWRITEBYTECODE=1"}, `
import sys
sys.path.insert(0, "src")
import mlflow
import mlflow.sklearn
from config import config as conf
from load_data import load_data
from preprocess import preprocess
import train

data = load_data()
assert list(data.columns) == ["sepal_length", "sepal_width", "petal_length", "petal_width", "variety"], data.columns
assert len(data) == 150 and list(data.index) == list(range(150))
x, y = preprocess(data)
assert list(x.columns) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
assert sorted(set(y)) == [0, 1, 2] and (y.index == x.index).all() and not y.isna().any()

S = mlflow.STATE
def runs_since(n):
    return list(S["runs"].items())[n:]

# Run 1: no champion yet: the best of k = 2, 3, 4 by accuracy becomes version 1.
train.train()
assert S["experiment"] == "iris", S["experiment"]
assert mlflow.sklearn.AUTOLOG.get("log_models") is False
runs = runs_since(0)
assert len(runs) == 3, runs
best = max(runs, key=lambda r: r[1]["metrics"]["accuracy_score"])
for _, r in runs:
    assert set(r["metrics"]) >= {"accuracy_score", "f1_score", "log_loss", "precision_score", "recall_score", "roc_auc"}, r
    assert len(r["models"]) == 1
model = S["registered"]["iris"]
assert len(model["versions"]) == 1 and model["aliases"] == {"champion": "1"}, model
v1 = model["versions"][0]
first_best = [rid for rid, r in runs if r["metrics"]["accuracy_score"] == best[1]["metrics"]["accuracy_score"]][0]
assert v1.run_id == first_best and v1.source == "runs:/%s/models" % first_best, (v1.run_id, first_best)

# Run 2: same data, same scores: a tie keeps the champion.
train.train()
assert len(model["versions"]) == 1, model

# Run 3: by log_loss, lower is better.
conf["mlflow"]["target_metric"] = "log_loss"
n = len(S["runs"])
train.train()
runs = runs_since(n)
losses = {rid: r["metrics"]["log_loss"] for rid, r in runs}
challenger = min(losses, key=lambda rid: (losses[rid], list(losses).index(rid)))
champion_loss = S["runs"][v1.run_id]["metrics"]["log_loss"]
if losses[challenger] < champion_loss:
    assert len(model["versions"]) == 2 and model["aliases"]["champion"] == "2", model
    assert model["versions"][1].run_id == challenger
else:
    assert len(model["versions"]) == 1, model
print("ok", sorted(losses.values()), champion_loss)
`)
	if !strings.HasPrefix(out, "ok") && !strings.Contains(out, "\nok ") {
		t.Errorf("output:\n%s", out)
	}
	t.Logf("%s", out)
}

// pyString quotes s as a Python string literal.
func pyString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// newLiteProject writes the lite template for name into a new directory.
func newLiteProject(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	got, err := WriteWith(dir, name, Options{Lite: true})
	if err != nil {
		t.Fatalf("WriteWith(Lite): %v", err)
	}
	if diff := cmp.Diff(wantFiles, got); diff != "" {
		t.Fatalf("WriteWith(Lite) returned (-want +got):\n%s", diff)
	}
	return dir
}

func TestWriteLite(t *testing.T) {
	dir := newLiteProject(t, "iris-lite")
	full := newProject(t, "iris-lite")
	for _, f := range wantFiles {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "{{") || strings.Contains(s, "<no value>") {
			t.Errorf("%s: unrendered template text", f)
		}
		if strings.HasSuffix(f, ".py") && (strings.Contains(s, "\nimport mlflow") || strings.Contains(s, "\nfrom mlflow")) {
			t.Errorf("%s imports the mlflow package", f)
		}
		orig, err := os.ReadFile(filepath.Join(full, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		differs := s != string(orig)
		wantDiffer := map[string]bool{"README.md": true, "requirements.txt": true, "src/modeling.py": true, "src/model_evaluate.py": true}[f]
		if differs != wantDiffer {
			t.Errorf("%s: differs from the full template = %v; want %v", f, differs, wantDiffer)
		}
	}
	for f, want := range map[string]string{
		"src/modeling.py":       "\nimport posml.tracking as mlflow\n",
		"src/model_evaluate.py": "\nfrom posml.tracking import MlflowClient, MlflowException\n",
		"README.md":             "posml init --lite iris-lite",
	} {
		b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q", f, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "requirements.txt"))
	if strings.Contains(string(b), "mlflow") {
		t.Errorf("requirements.txt of a lite project names mlflow:\n%s", b)
	}
}

func TestLitePythonCompilesAndPassesRules(t *testing.T) {
	needPython(t)
	dir := newLiteProject(t, "iris")
	args := []string{"-m", "py_compile"}
	for _, f := range wantFiles {
		if strings.HasSuffix(f, ".py") {
			args = append(args, filepath.Join(dir, filepath.FromSlash(f)))
		}
	}
	cmd := exec.Command(testPython, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}
	ds, err := rules.Check(context.Background(), dir, rules.Options{Python: testPython, TriggerRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		t.Errorf("rules: %s", d)
	}
}

func TestLiteMetricDirection(t *testing.T) {
	needPython(t)
	dir := newLiteProject(t, "iris")
	python(t, dir, nil, strings.Replace(stubs, `"yaml"]`, `"yaml", "posml", "posml.tracking"]`, 1)+`
from modeling import better, metric_direction
import model_evaluate

assert metric_direction("log_loss") == "minimize"
assert metric_direction("accuracy_score") == "maximize"
assert not better(0.9, 0.9, "maximize"), "a tie keeps the champion"
assert better(0.1, 0.2, "minimize") and not better(0.3, 0.2, "minimize")
assert model_evaluate.registered_model_name() == "iris"
`)
}

package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posml/posml/internal/validate"
)

// TestInitThenValidate is the README's first step: a new project validates,
// and every Python file of it compiles.
func TestInitThenValidate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	stdout, stderr, code := run(t, "init", "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "src/train.py") {
		t.Errorf("init output does not list src/train.py:\n%s", stdout)
	}
	stdout, stderr, code = run(t, "validate", dir, "--json", "--now", "2024-03-09T12:00:00Z")
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	var v validate.Result
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.Errors != 0 || len(v.Pipelines) == 0 {
		t.Errorf("validate --json = %+v; want valid with pipelines", v)
	}
	for _, p := range v.Pipelines {
		if len(p.Runs) != validate.PreviewCount {
			t.Errorf("pipeline %s previews %d runs; want %d", p.Name, len(p.Runs), validate.PreviewCount)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "src", "*.py"))
	if len(files) < 7 {
		t.Fatalf("scaffold wrote %d Python files; want at least 7", len(files))
	}
	args := append([]string{"-m", "py_compile"}, files...)
	if out, err := exec.Command(testPython(), args...).CombinedOutput(); err != nil {
		t.Errorf("py_compile: %v\n%s", err, out)
	}
}

func TestInitRefusesExistingProject(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "init", "demo", "--dir", dir)
	if code == 0 {
		t.Fatal("init into a non-empty directory succeeded")
	}
	if !strings.Contains(stderr, dir) {
		t.Errorf("error %q does not name the directory", stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "keep.txt")); err != nil || string(b) != "mine" {
		t.Errorf("existing file changed: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "src")); err == nil {
		t.Error("init wrote src/ into a non-empty directory")
	}
}

func TestInitRejectsBadName(t *testing.T) {
	_, stderr, code := run(t, "init", "My_Project", "--dir", filepath.Join(t.TempDir(), "x"))
	if code == 0 || !strings.Contains(stderr, "My_Project") {
		t.Errorf("init My_Project: exit %d, stderr %q; want an error naming it", code, stderr)
	}
}

// TestInitLite: `posml init --lite` writes the variant that logs with
// posml.tracking; it validates and compiles like the default one.
func TestInitLite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	_, stderr, code := run(t, "init", "--lite", "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("init --lite: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "src", "modeling.py"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "import posml.tracking as mlflow") {
		t.Errorf("src/modeling.py of a lite project does not import posml.tracking:\n%s", b)
	}
	stdout, stderr, code := run(t, "validate", dir, "--json", "--now", "2024-03-09T12:00:00Z")
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	var v validate.Result
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.Errors != 0 {
		t.Errorf("validate --json = %+v; want valid", v)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "src", "*.py"))
	args := append([]string{"-m", "py_compile"}, files...)
	if out, err := exec.Command(testPython(), args...).CombinedOutput(); err != nil {
		t.Errorf("py_compile: %v\n%s", err, out)
	}
}

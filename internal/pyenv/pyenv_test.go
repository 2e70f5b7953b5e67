package pyenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// basePython is Debian's interpreter, whose dist-packages hold PyYAML
// (python3-yaml): with --system-site-packages pip finds "PyYAML"
// satisfied without any network. The venv module needs python3-venv.
func basePython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if out, err := exec.Command(py, "-c", "import ensurepip, venv, yaml").CombinedOutput(); err != nil {
		t.Skipf("/usr/bin/python3 lacks venv/ensurepip or yaml (apt-get install python3-venv python3-yaml): %v\n%s", err, out)
	}
	return py
}

// testEnv keeps pip off the network: everything must be satisfied
// locally, or fail at once.
func testEnv() []string {
	return append(DefaultEnv(os.Environ()), "PIP_NO_INDEX=1")
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestNoRequirements(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "envs")
	c := &Cache{Dir: dir, Base: "/opt/custom/python3.12"}
	for _, req := range []string{"", "\n\n", "# pinned later\n  # nothing yet\n"} {
		env, err := c.Ensure(testCtx(t), []byte(req))
		if err != nil || env != (Env{Python: "/opt/custom/python3.12"}) {
			t.Errorf("Ensure(%q) = %+v, %v; want the base interpreter", req, env, err)
		}
	}
	if env, _ := (&Cache{Dir: dir}).Ensure(testCtx(t), nil); env.Python != "python3" {
		t.Errorf("default base = %q; want python3", env.Python)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache directory made without requirements")
	}
}

func TestBuildOnceThenHit(t *testing.T) {
	py := basePython(t)
	dir := t.TempDir()
	req := []byte("# the template's requirements\nPyYAML\n")
	// Two caches on one directory play two posml processes.
	a := &Cache{Dir: dir, Base: py, Env: testEnv()}
	b := &Cache{Dir: dir, Base: py, Env: testEnv()}

	// A build interrupted earlier left a partial environment.
	base, err := a.probe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	key := Key(req, base.Executable, base.Version)
	if err := os.MkdirAll(filepath.Join(dir, key, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, key, "bin", "python"), []byte("half"), 0o755)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		envs []Env
	)
	for i := range 4 {
		c := []*Cache{a, b}[i%2]
		wg.Go(func() {
			env, err := c.Ensure(testCtx(t), req)
			if err != nil {
				t.Errorf("Ensure: %v", err)
			}
			mu.Lock()
			envs = append(envs, env)
			mu.Unlock()
		})
	}
	wg.Wait()
	built := 0
	for _, e := range envs {
		if e.Built {
			built++
		}
		if e.Python != filepath.Join(dir, key, "bin", "python") || e.Key != key || e.Venv != filepath.Join(dir, key) {
			t.Errorf("Env = %+v; want the environment of key %s", e, key)
		}
	}
	if built != 1 {
		t.Errorf("%d of 4 concurrent calls built the environment; want 1", built)
	}

	// The environment works, sees the system's PyYAML, and is itself.
	out, err := exec.Command(envs[0].Python, "-c", "import sys, yaml; print(sys.prefix); print(yaml.__file__)").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] != envs[0].Venv || !strings.HasPrefix(lines[1], "/usr/lib/python3/") {
		t.Errorf("sys.prefix, yaml = %q; want %s and Debian's yaml", lines, envs[0].Venv)
	}
	if got, _ := os.ReadFile(filepath.Join(envs[0].Venv, "requirements.txt")); string(got) != string(req) {
		t.Errorf("stored requirements %q", got)
	}

	// Hits: in this process, and in a new one (a restart).
	for name, c := range map[string]*Cache{"same cache": a, "new cache": {Dir: dir, Base: py, Env: testEnv()}} {
		t0 := time.Now()
		env, err := c.Ensure(testCtx(t), req)
		if err != nil || env.Built || env.Python != envs[0].Python {
			t.Errorf("%s: Ensure = %+v, %v; want a hit", name, env, err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("%s: a hit took %v", name, d)
		}
	}

	// Other requirements, another key.
	other := Key([]byte("PyYAML>=5\n"), base.Executable, base.Version)
	if other == key {
		t.Error("different requirements share a key")
	}
}

func TestBuildFailureCarriesPipMessage(t *testing.T) {
	py := basePython(t)
	dir := t.TempDir()
	c := &Cache{Dir: dir, Base: py, Env: testEnv()}
	req := []byte("PyYAML\nposml-no-such-package==1.0\n")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Ensure(testCtx(t), req) })
	}
	wg.Wait()
	for _, err := range errs {
		var be *BuildError
		if !errors.As(err, &be) || be.Step != "pip" {
			t.Fatalf("Ensure = %v; want a pip BuildError", err)
		}
		if !strings.Contains(err.Error(), "No matching distribution found for posml-no-such-package==1.0") ||
			!strings.HasPrefix(err.Error(), "build python environment: pip install -r requirements.txt failed (exit status 1):\nERROR:") {
			t.Errorf("error does not carry pip's message:\n%v", err)
		}
		if !strings.Contains(be.Output, "posml-no-such-package") {
			t.Errorf("Output lacks pip's output:\n%s", be.Output)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("failed build left %s", e.Name())
		}
	}
	// Not cached: the next call tries again (and fails again).
	if _, err := c.Ensure(testCtx(t), req); err == nil {
		t.Error("second Ensure succeeded")
	}
}

func TestBaseNotFound(t *testing.T) {
	c := &Cache{Dir: t.TempDir(), Base: "/nonexistent/python3", Env: testEnv()}
	if _, err := c.Ensure(testCtx(t), []byte("PyYAML\n")); !errors.Is(err, ErrPythonNotFound) || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Errorf("Ensure = %v; want ErrPythonNotFound naming the interpreter", err)
	}
}

func TestWaitForLockHonoursContext(t *testing.T) {
	py := basePython(t)
	dir := t.TempDir()
	c := &Cache{Dir: dir, Base: py, Env: testEnv()}
	req := []byte("PyYAML\n")
	base, err := c.probe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	// Another process is building.
	unlock, err := lockFile(testCtx(t), filepath.Join(dir, Key(req, base.Executable, base.Version))+".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if _, err := c.Ensure(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ensure while locked = %v; want DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

func TestKey(t *testing.T) {
	k := Key([]byte("PyYAML\n"), "/usr/bin/python3.11", "3.11.2")
	if len(k) != 32 || k != Key([]byte("PyYAML\n"), "/usr/bin/python3.11", "3.11.2") {
		t.Errorf("Key = %q; want 32 stable hex digits", k)
	}
	for _, other := range []string{
		Key([]byte("PyYAML\n\n"), "/usr/bin/python3.11", "3.11.2"),
		Key([]byte("PyYAML\n"), "/usr/local/bin/python3.11", "3.11.2"),
		Key([]byte("PyYAML\n"), "/usr/bin/python3.11", "3.11.9"),
	} {
		if other == k {
			t.Errorf("a different input gives the same key %s", k)
		}
	}
}

func TestSummary(t *testing.T) {
	out := `Looking in links: /opt/wheels
Requirement already satisfied: PyYAML in /usr/lib/python3/dist-packages (from -r req.txt (line 1)) (6.0)
ERROR: Could not find a version that satisfies the requirement torch==9.9 (from versions: none)
ERROR: No matching distribution found for torch==9.9
`
	want := "ERROR: Could not find a version that satisfies the requirement torch==9.9 (from versions: none)\nERROR: No matching distribution found for torch==9.9"
	if got := summary(out); got != want {
		t.Errorf("summary = %q", got)
	}
	long := strings.Repeat("line\n", 30) + "Error: Command '['/x/bin/python', '-m', 'ensurepip']' returned non-zero exit status 1.\n"
	if got := summary(long); strings.Count(got, "\n") != 9 || !strings.HasSuffix(got, "exit status 1.") {
		t.Errorf("summary of a non-pip failure = %q; want its last 10 lines", got)
	}
}

func TestDefaultEnv(t *testing.T) {
	got := DefaultEnv([]string{"PATH=/bin", "HOME=/root", "PIP_INDEX_URL=https://pypi.internal/simple", "AWS_SECRET_ACCESS_KEY=x", "HTTPS_PROXY=http://p:3128", "POSML_TOKEN=y"})
	want := []string{"PATH=/bin", "HOME=/root", "PIP_INDEX_URL=https://pypi.internal/simple", "HTTPS_PROXY=http://p:3128"}
	if !slices.Equal(got, want) {
		t.Errorf("DefaultEnv = %q; want %q", got, want)
	}
	if got := DefaultEnv(nil); !slices.Equal(got, []string{"PATH=/usr/local/bin:/usr/bin:/bin"}) {
		t.Errorf("DefaultEnv(nil) = %q", got)
	}
}

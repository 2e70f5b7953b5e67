package executor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// python returns the interpreter the tests run: Debian's /usr/bin/python3
// (a real binary, where PATH's python3 may be a pyenv shim script), else
// python3 from PATH.
func python(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	return p
}

// baseEnv is a minimal complete environment for test attempts.
func baseEnv() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED=1", "LC_ALL=C.UTF-8"}
}

// spec returns a Spec running python -c code in a fresh directory.
func spec(t testing.TB, code string) Spec {
	t.Helper()
	dir := t.TempDir()
	return Spec{
		AttemptID: "a1",
		Dir:       dir,
		Python:    python(t),
		Args:      []string{"-c", code},
		Env:       baseEnv(),
		KillGrace: 2 * time.Second,
		LogPath:   filepath.Join(dir, "logs", "attempt-1.log"),
	}
}

// start starts s with a Local backend and makes sure the attempt ends with
// the test.
func start(t testing.TB, s Spec) Handle {
	t.Helper()
	h, err := (&Local{}).Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		h.Cancel("test ended")
		h.Wait()
	})
	return h
}

// waitFor returns the result, failing the test if the attempt takes longer
// than limit.
func waitFor(t testing.TB, h Handle, limit time.Duration) Result {
	t.Helper()
	ch := make(chan Result, 1)
	go func() { ch <- h.Wait() }() // ends with the attempt; the cleanup of start cancels it
	select {
	case r := <-ch:
		return r
	case <-time.After(limit):
		t.Fatalf("attempt still running after %v", limit)
		return Result{}
	}
}

func readLog(t testing.TB, s Spec) string {
	t.Helper()
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logLines returns the log's lines without the header and footer, and the
// footer.
func logLines(t testing.TB, s Spec) (body []string, foot string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(readLog(t, s), "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "posml: attempt ") {
		t.Fatalf("log lacks a header:\n%s", readLog(t, s))
	}
	return lines[1 : len(lines)-1], lines[len(lines)-1]
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool { return Process{PID: pid}.Alive() }

// waitForFile waits until path exists and has content, and returns it.
func waitForFile(t testing.TB, path string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s not written within %v", path, limit)
	return ""
}

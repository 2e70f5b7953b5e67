package compat

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMLflowJS drives `posml server` with the npm package "mlflow", a
// third-party MLflow client: test/mlflowjs/client_test.mjs covers
// experiments, runs, metrics, batches, search and artifact listing, and must
// end with "N passed, 0 failed".
func TestMLflowJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the test command (scripts/test.sh) installs it; this test needs it to run the npm mlflow client")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "mlflowjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mlflow")); err != nil {
		npmCI(t, dir)
	}
	url := startServer(t)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client_test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node client_test.mjs against %s: %v\n%s", url, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^[1-9][0-9]* passed, 0 failed$`).MatchString(last) {
		t.Fatalf("node client_test.mjs ended with %q; want \"N passed, 0 failed\"\n%s", last, out)
	}
	t.Logf("npm mlflow client against posml server:\n%s", out)
}

// npmCI installs the locked dependencies of the node project in dir.
func npmCI(t *testing.T, dir string) {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("node is installed but npm is not: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// startServer builds cmd/posml, starts `posml server` on a free loopback
// port with a temporary data directory, waits until /health answers and
// returns its base URL. The server is stopped when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "posml")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/posml/posml/cmd/posml").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/posml: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // the server binds it again just below
	logPath := filepath.Join(tmp, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server", "--addr", addr, "--data-dir", filepath.Join(tmp, "data"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }() // received by the cleanup below
	serverLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("posml server did not stop within 10 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("posml server log:\n%s", serverLog())
		}
	})

	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("posml server exited before answering /health: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("posml server did not answer %s/health within 30 s (last error %v)", url, err)
		}
	}
}

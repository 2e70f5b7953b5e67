package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServerCommand starts `posml server` with settings from the
// environment, talks to it, and stops it by cancelling its context.
func TestServerCommand(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := map[string]string{"POSML_ADDR": addr, "POSML_DATA_DIR": filepath.Join(dir, "data")}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"server"}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return env[k] })
	}()
	base := "http://" + addr
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = http.Get(base + "/health"); err == nil {
			break
		}
	}
	if err != nil {
		cancel()
		t.Fatalf("server did not come up: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/api/2.0/mlflow/experiments/create", "application/json", strings.NewReader(`{"name":"cli"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"experiment_id":"1"}` {
		t.Fatalf("create experiment: %d %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server returned %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	// The defaults put the database and artifacts in the data directory.
	for _, p := range []string{"data/posml.db", "data/artifacts"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestServerFlagsWinOverEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"POSML_ADDR": "256.0.0.1:1", "POSML_DB": "mysql://nope"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	// A bad --db flag fails before listening; the env addr is never used.
	err := Run(ctx, []string{"server", "--db", "bogus://x", "--data-dir", dir}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(stderr.String(), "unsupported database URL bogus://x") {
		t.Fatalf("err = %v, stderr %q", err, stderr.String())
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/db": "postgres://u:xxxxx@h/db",
		"postgres://u@h/db":        "postgres://u@h/db",
		"sqlite:///x.db":           "sqlite:///x.db",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q; want %q", in, got, want)
		}
	}
}

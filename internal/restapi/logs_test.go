package restapi

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posml/posml/internal/pgtest"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projects"
	"github.com/posml/posml/internal/sqlstore"
)

// replicaEnvs returns two API servers ("replicas") on one database, each
// with its own store: SQLite, and PostgreSQL as well when
// POSML_TEST_POSTGRES_URL is set (a fresh schema).
func replicaEnvs(t *testing.T, dbURL string) (a, b *env) {
	t.Helper()
	repos := filepath.Join(t.TempDir(), "repos")
	open := func() *env {
		st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: dbURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svc := projects.New(st, st, projects.Config{Dir: repos, Python: testPython()}, nil)
		srv := httptest.NewServer(Handler(Config{Projects: svc, Runs: st, PollInterval: 10 * time.Millisecond}))
		t.Cleanup(srv.Close)
		return &env{srv: srv, store: st}
	}
	a = open()
	return a, open()
}

// databases names the databases the log tests run on.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	dbs := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "posml.db") },
	}
	if os.Getenv("POSML_TEST_POSTGRES_URL") != "" {
		dbs["postgres"] = postgresURL
	}
	return dbs
}

// postgresURL is pgtest.URL.
func postgresURL(t *testing.T) string { return pgtest.URL(t) }

// follow opens the followed log of run id on e; next returns the next
// event as "event|data" (event empty for a log line).
func follow(t *testing.T, e *env, id string) (next func() string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/posml/runs/" + id + "/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan string, 100)
	go func() { // ends when the body is closed
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- ev + "|" + strings.TrimPrefix(line, "data: ")
				ev = ""
			}
		}
	}()
	return func() string {
		t.Helper()
		select {
		case s, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
			return ""
		}
	}
}

// startRun adds the iris project on e and starts a run of it; it returns
// the run's id.
func startRun(t *testing.T, e *env) pipeline.RunID {
	t.Helper()
	if code, body := e.call(t, "POST", "/api/posml/projects", AddProject{Repo: newRepo(t, "iris")}, nil); code != 201 {
		t.Fatalf("add: %d %s", code, body)
	}
	var run Run
	if code, body := e.call(t, "POST", "/api/posml/runs", StartRun{Project: "iris"}, &run); code != 201 {
		t.Fatalf("start: %d %s", code, body)
	}
	id, err := pipeline.ParseRunID(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLogsFromAnotherReplica: an attempt runs on a replica whose log file
// this machine does not have; its runner copies the log to the database as
// it grows. Another replica serves it: live with follow=1 (the last chunk
// copied just after the attempt ended included), and plainly afterwards.
func TestLogsFromAnotherReplica(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			ra, rb := replicaEnvs(t, db(t))
			id := startRun(t, ra)
			ctx := context.Background()
			// The log file is on the other replica's disk.
			elsewhere := filepath.Join(t.TempDir(), "replica-2", "runs", "attempt-1.log")
			_, a, ok, err := ra.store.StartAttempt(ctx, id, time.Now(), func(int) string { return elsewhere })
			if err != nil || !ok {
				t.Fatalf("start attempt: %v %v", ok, err)
			}
			var pos int64
			ship := func(s string) {
				t.Helper()
				if err := ra.store.AppendLog(ctx, id, a.N, pos, []byte(s)); err != nil {
					t.Fatal(err)
				}
				pos += int64(len(s))
			}
			ship("loading data\n")

			next := follow(t, rb, id.String())
			if got := next(); got != "attempt|1" {
				t.Errorf("first event %q", got)
			}
			if got := next(); got != "|loading data" {
				t.Errorf("event %q; want the first line", got)
			}
			ship("epoch 1 accuracy=0.9\nepoch 2")
			if got := next(); got != "|epoch 1 accuracy=0.9" {
				t.Errorf("event %q; want the shipped line", got)
			}
			a.State, a.ExitCode = pipeline.Succeeded, 0
			if _, err := ra.store.FinishAttempt(ctx, a, pipeline.Succeeded, "", time.Time{}); err != nil {
				t.Fatal(err)
			}
			// The runner copies the rest after it recorded the end.
			time.Sleep(300 * time.Millisecond)
			ship(" accuracy=0.95\ndone")
			if got := next(); got != "|epoch 2 accuracy=0.95" {
				t.Errorf("event %q; want the line completed after the end", got)
			}
			if got := next(); got != "|done" {
				t.Errorf("event %q; want the last partial line", got)
			}
			if got := next(); !strings.HasPrefix(got, "end|") || !strings.Contains(got, `"succeeded"`) {
				t.Errorf("event %q; want end with the state", got)
			}

			want := "loading data\nepoch 1 accuracy=0.9\nepoch 2 accuracy=0.95\ndone"
			for _, e := range []*env{ra, rb} {
				for _, q := range []string{"", "?attempt=1"} {
					if code, body := e.call(t, "GET", "/api/posml/runs/"+id.String()+"/logs"+q, nil, nil); code != 200 || body != want {
						t.Errorf("logs%s: %d %q; want %q", q, code, body, want)
					}
				}
			}
			// A stored log read in several pieces comes back whole.
			big := strings.Repeat("0123456789abcdef", storedLogChunk/16*2+100)
			var run2 Run
			if code, body := ra.call(t, "POST", "/api/posml/runs", StartRun{Project: "iris"}, &run2); code != 201 {
				t.Fatalf("start: %d %s", code, body)
			}
			id2, _ := pipeline.ParseRunID(run2.ID)
			_, a2, ok, err := ra.store.StartAttempt(ctx, id2, time.Now(), func(int) string { return elsewhere + ".2" })
			if err != nil || !ok {
				t.Fatalf("second run: %v %v", ok, err)
			}
			for off := 0; off < len(big); off += 64 << 10 {
				end := min(off+64<<10, len(big))
				if err := ra.store.AppendLog(ctx, id2, a2.N, int64(off), []byte(big[off:end])); err != nil {
					t.Fatal(err)
				}
			}
			if code, body := rb.call(t, "GET", "/api/posml/runs/"+run2.ID+"/logs", nil, nil); code != 200 || body != big {
				t.Errorf("big stored log: %d, %d bytes; want %d", code, len(body), len(big))
			}
		})
	}
}

// TestLogsFileAppears: a log first read from the database goes on from the
// file once the file is there (an attempt on this replica whose log file
// was not created yet), without repeating a line.
func TestLogsFileAppears(t *testing.T) {
	e, _ := replicaEnvs(t, filepath.Join(t.TempDir(), "posml.db"))
	id := startRun(t, e)
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "attempt-1.log")
	_, a, ok, err := e.store.StartAttempt(ctx, id, time.Now(), func(int) string { return logPath })
	if err != nil || !ok {
		t.Fatalf("start attempt: %v %v", ok, err)
	}
	if err := e.store.AppendLog(ctx, id, a.N, 0, []byte("one\ntw")); err != nil {
		t.Fatal(err)
	}
	next := follow(t, e, id.String())
	if got := next(); got != "attempt|1" {
		t.Errorf("first event %q", got)
	}
	if got := next(); got != "|one" {
		t.Errorf("event %q; want the stored line", got)
	}
	time.Sleep(50 * time.Millisecond)
	if err := os.WriteFile(logPath, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "|two" {
		t.Errorf("event %q; want the line completed from the file", got)
	}
	if got := next(); got != "|three" {
		t.Errorf("event %q", got)
	}
	a.State, a.ExitCode = pipeline.Failed, 1
	if _, err := e.store.FinishAttempt(ctx, a, pipeline.Failed, "exit 1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got := next(); !strings.HasPrefix(got, "end|") || !strings.Contains(got, `"failed"`) {
		t.Errorf("event %q; want end", got)
	}
	if d := time.Since(start); d > storedLogSettle {
		t.Errorf("the end of a log read from its file took %v", d)
	}
	resp, err := http.Get(e.srv.URL + "/api/posml/runs/" + id.String() + "/logs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "one\ntwo\nthree\n" {
		t.Errorf("plain log %q", b)
	}
}

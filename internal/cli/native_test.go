package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/sqlstore"
)

// TestRunEndedNotifies: a failed run's event reaches the server's URL
// (which fails at first and is retried) without RunEnded waiting for it.
func TestRunEndedNotifies(t *testing.T) {
	got := make(chan map[string]any, 4)
	var tries atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		got <- m
	}))
	defer recv.Close()
	dir := t.TempDir()
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(dir, "posml.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nat := newNative(st, nativeConfig{DataDir: dir, Python: testPython(), NotifyURLs: []string{recv.URL}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	wait := nat.start(ctx)
	defer func() { cancel(); wait() }()

	nat.RunEnded(pipeline.Run{ID: 7, Project: "iris", Pipeline: pipeline.Train, State: pipeline.Succeeded})
	nat.RunEnded(pipeline.Run{ID: 8, Project: "iris", Pipeline: pipeline.Train, State: pipeline.Failed, Reason: "exit status 2"})
	select {
	case m := <-got:
		if m["event"] != "failure" || m["run_id"] != "8" || !strings.Contains(m["text"].(string), "exit status 2") {
			t.Errorf("event %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
}

package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that fails the first fails requests.
type receiver struct {
	mu     sync.Mutex
	fails  int
	tries  int
	bodies []map[string]any
	got    chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.tries++
	if rc.tries <= rc.fails {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.bodies = append(rc.bodies, m)
	rc.got <- struct{}{}
}

func TestNotifyRetries(t *testing.T) {
	server := &receiver{fails: 2, got: make(chan struct{}, 10)}
	project := &receiver{got: make(chan struct{}, 10)}
	srvA := httptest.NewServer(server)
	defer srvA.Close()
	srvB := httptest.NewServer(project)
	defer srvB.Close()

	n := New(Config{URLs: []string{srvA.URL + "/hook"}, Backoff: 10 * time.Millisecond, Attempts: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()

	start := time.Now()
	n.Notify(ctx, Event{Kind: Failure, Project: "iris", Pipeline: "train", RunID: "42", Message: "exit status 1",
		URLs: []string{srvB.URL, srvA.URL + "/hook"}})
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("Notify blocked for %v", d)
	}
	for _, rc := range []*receiver{server, project} {
		select {
		case <-rc.got:
		case <-time.After(5 * time.Second):
			t.Fatal("event not delivered")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	server.mu.Lock()
	defer server.mu.Unlock()
	if server.tries != 3 || len(server.bodies) != 1 {
		t.Errorf("server URL: %d tries, %d deliveries; want 3 tries (2 failures), 1 delivery (and no duplicate for the repeated URL)", server.tries, len(server.bodies))
	}
	b := server.bodies[0]
	if b["event"] != "failure" || b["project"] != "iris" || b["run_id"] != "42" {
		t.Errorf("body = %v", b)
	}
	if text, _ := b["text"].(string); !strings.Contains(text, "failure") || !strings.Contains(text, "iris") || !strings.Contains(text, "exit status 1") {
		t.Errorf("text = %q", text)
	}
}

func TestNotifyGivesUp(t *testing.T) {
	rc := &receiver{fails: 100, got: make(chan struct{}, 1)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n := New(Config{URLs: []string{srv.URL}, Backoff: time.Millisecond, Attempts: 3})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	n.Notify(ctx, Event{Kind: Timeout, Project: "p"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		tries := rc.tries
		rc.mu.Unlock()
		if tries >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
	if rc.tries != 3 {
		t.Errorf("tries = %d, want 3", rc.tries)
	}
}

func TestNilNotifier(t *testing.T) {
	var n *Notifier
	n.Notify(context.Background(), Event{Kind: Hold}) // must not panic
}

func TestRedactURL(t *testing.T) {
	if got := RedactURL("https://hooks.slack.com/services/T0/B0/secret"); got != "https://hooks.slack.com/…" {
		t.Errorf("RedactURL = %q", got)
	}
}

package executor

import (
	"path/filepath"
	"testing"
	"time"
)

// TestControl: the first of Cancel and Detach is delivered once, with its
// reason on one line; Detach waits for the result; Wait returns it.
func TestControl(t *testing.T) {
	log, err := OpenLog(filepath.Join(t.TempDir(), "a.log"))
	if err != nil {
		t.Fatal(err)
	}
	var c Control
	c.Init(log)
	c.Cancel("  server\n stopped  ")
	c.Cancel("second")
	c.Detach() // after a Cancel: returns at once
	select {
	case r := <-c.Requests():
		if r.Detach || r.Reason != "server stopped" {
			t.Errorf("request %+v", r)
		}
	default:
		t.Fatal("no request")
	}
	select {
	case r := <-c.Requests():
		t.Errorf("a second request: %+v", r)
	default:
	}
	c.Publish(Result{State: Canceled})
	if r := c.Wait(); r.State != Canceled {
		t.Errorf("Wait = %+v", r)
	}

	var d Control
	log2, _ := OpenLog(filepath.Join(t.TempDir(), "b.log"))
	d.Init(log2)
	detached := make(chan struct{})
	go func() { d.Detach(); close(detached) }()
	r := <-d.Requests()
	if !r.Detach {
		t.Fatalf("request %+v; want a detach", r)
	}
	select {
	case <-detached:
		t.Fatal("Detach returned before the result was published")
	case <-time.After(50 * time.Millisecond):
	}
	d.Publish(Result{State: Detached})
	<-detached
	if d.Wait().State != Detached {
		t.Error("Wait after Detach")
	}
}

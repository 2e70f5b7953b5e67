package cli

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
)

func TestBenchTrackingUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no url", []string{"bench", "tracking"}, "--url is required"},
		{"unknown phase", []string{"bench", "tracking", "--url", "http://127.0.0.1:1", "--only", "search,nope"}, `unknown phase "nope"`},
		{"bad url", []string{"bench", "tracking", "--url", "127.0.0.1:5000"}, "want http(s)://host[:port]"},
		{"zero writers", []string{"bench", "tracking", "--url", "http://127.0.0.1:1", "--writers", "0"}, "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != 2 {
				t.Errorf("exit status %d; want 2 (usage)", code)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tc.want)
			}
		})
	}
}

// TestBenchTrackingUnreachable checks the failure path end to end: the
// report is still written as JSON on stdout, and the exit status is 1.
// internal/loadgen tests the phases against a real server.
func TestBenchTrackingUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there any more
	stdout, stderr, code := run(t, "bench", "tracking", "--url", url, "--only", "log-metric", "--json", "-")
	if code != 1 {
		t.Errorf("exit status %d; want 1", code)
	}
	if !strings.Contains(stderr, "connection refused") {
		t.Errorf("stderr = %q; want the connection error", stderr)
	}
	var report struct {
		URL    string   `json:"url"`
		Phases []string `json:"phases"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	if report.URL != url || len(report.Phases) != 1 || report.Phases[0] != "log-metric" {
		t.Errorf("report = %+v; want url %s and phases [log-metric]", report, url)
	}
}

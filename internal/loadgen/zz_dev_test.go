package loadgen

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestDevRun(t *testing.T) {
	u := os.Getenv("DEV_URL")
	if u == "" {
		t.Skip()
	}
	b, err := New(Config{URL: u, SearchRuns: 300, Duration: 2 * time.Second, LogMetricCalls: 200, GetRunCalls: 100, HistoryCalls: 10, PageSize: 1000}, NewHTTPClient(16), NewProgress(os.Stderr, os.Getenv("DEV_LIVE") != ""))
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Run(t.Context())
	r.WriteTable(os.Stdout)
	d, _ := json.MarshalIndent(r, "", " ")
	os.WriteFile("/tmp/dev.json", d, 0o644)
	if err != nil {
		t.Fatal(err)
	}
}

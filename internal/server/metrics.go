package server

import (
	"bufio"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Buckets of the request latency histogram, in seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics keeps request counts and latency histograms per route and writes
// them in Prometheus' text exposition format.
type metrics struct {
	mu     sync.Mutex
	counts map[countKey]uint64
	hists  map[string]*histogram
	start  time.Time
}

type countKey struct {
	route string
	code  int
}

type histogram struct {
	buckets []uint64 // cumulative counts are computed on output
	sum     float64
	count   uint64
}

func newMetrics() *metrics {
	return &metrics{counts: map[countKey]uint64{}, hists: map[string]*histogram{}, start: time.Now()}
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	sec := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[countKey{route, code}]++
	h := m.hists[route]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(latencyBuckets))}
		m.hists[route] = h
	}
	for i, b := range latencyBuckets {
		if sec <= b {
			h.buckets[i]++
			break
		}
	}
	h.sum += sec
	h.count++
}

// serve writes the metrics, then gauges.
func (m *metrics) serve(w http.ResponseWriter, gauges []Gauge) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	m.write(bw)
	for _, g := range gauges {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", g.Name, g.Help, g.Name, g.Name, strconv.FormatFloat(g.Value, 'g', -1, 64))
	}
	bw.Flush()
}

func (m *metrics) write(w *bufio.Writer) {
	m.mu.Lock()
	keys := make([]countKey, 0, len(m.counts))
	for k := range m.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	fmt.Fprintln(w, "# HELP posml_http_requests_total HTTP requests served, by route and status code.")
	fmt.Fprintln(w, "# TYPE posml_http_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "posml_http_requests_total{route=%s,code=\"%d\"} %d\n", label(k.route), k.code, m.counts[k])
	}
	routes := make([]string, 0, len(m.hists))
	for r := range m.hists {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	fmt.Fprintln(w, "# HELP posml_http_request_duration_seconds Latency of HTTP requests, by route.")
	fmt.Fprintln(w, "# TYPE posml_http_request_duration_seconds histogram")
	for _, r := range routes {
		h := m.hists[r]
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.buckets[i]
			fmt.Fprintf(w, "posml_http_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n", label(r), strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		fmt.Fprintf(w, "posml_http_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", label(r), h.count)
		fmt.Fprintf(w, "posml_http_request_duration_seconds_sum{route=%s} %s\n", label(r), strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(w, "posml_http_request_duration_seconds_count{route=%s} %d\n", label(r), h.count)
	}
	start := m.start
	m.mu.Unlock()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintln(w, "# HELP go_goroutines Number of goroutines that currently exist.")
	fmt.Fprintln(w, "# TYPE go_goroutines gauge")
	fmt.Fprintf(w, "go_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintln(w, "# HELP go_memstats_heap_alloc_bytes Bytes of allocated heap objects.")
	fmt.Fprintln(w, "# TYPE go_memstats_heap_alloc_bytes gauge")
	fmt.Fprintf(w, "go_memstats_heap_alloc_bytes %d\n", ms.HeapAlloc)
	if rss, ok := residentBytes(); ok {
		fmt.Fprintln(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.")
		fmt.Fprintln(w, "# TYPE process_resident_memory_bytes gauge")
		fmt.Fprintf(w, "process_resident_memory_bytes %d\n", rss)
	}
	fmt.Fprintln(w, "# HELP process_start_time_seconds Start time of the process since the epoch in seconds.")
	fmt.Fprintln(w, "# TYPE process_start_time_seconds gauge")
	fmt.Fprintf(w, "process_start_time_seconds %d\n", start.Unix())
}

// label quotes a label value per the exposition format.
func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

// residentBytes reads the resident set size from /proc (Linux only).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

func slogString(k, v string) slog.Attr                 { return slog.String(k, v) }
func slogInt(k string, v int) slog.Attr                { return slog.Int(k, v) }
func slogInt64(k string, v int64) slog.Attr            { return slog.Int64(k, v) }
func slogDuration(k string, v time.Duration) slog.Attr { return slog.Duration(k, v) }

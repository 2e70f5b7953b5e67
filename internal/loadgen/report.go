package loadgen

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a benchmark: one section per phase that ran. Its
// JSON form is the contract of `posml bench tracking --json`; fields are only
// ever added.
type Report struct {
	URL       string    `json:"url"`
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"seconds"`
	Phases    []Phase   `json:"phases"`

	LogMetric *LatencyResult `json:"log_metric,omitempty"`
	LogBatch  *BatchResult   `json:"log_batch,omitempty"`
	GetRun    *LatencyResult `json:"get_run,omitempty"`
	History   *HistoryResult `json:"metric_history,omitempty"`
	Search    *SearchResult  `json:"search,omitempty"`
	Writers   *WritersResult `json:"writers,omitempty"`
}

// LatencyResult is the outcome of a sequence of calls made one after the
// other. Latency covers the successful calls, measured to the last byte of
// the response; decoding and checking the answer is not timed.
type LatencyResult struct {
	Calls      int     `json:"calls"`
	Errors     int     `json:"errors"`
	Invalid    int     `json:"invalid_responses"` // 200 answers that failed the phase's check
	FirstError string  `json:"first_error,omitempty"`
	Latency    Latency `json:"latency"`
	PerSecond  float64 `json:"calls_per_s"`
}

func (r *LatencyResult) failed() int { return r.Errors + r.Invalid }

// BatchResult is the outcome of the log-batch throughput phase.
type BatchResult struct {
	LatencyResult
	MetricsPerRequest int     `json:"metrics_per_request"`
	MetricsPerSecond  float64 `json:"metrics_per_s"`
}

// HistoryResult is the outcome of the metric-history phase: full histories
// of one key with Points points, fetched Calls times.
type HistoryResult struct {
	LatencyResult
	Points int `json:"points"`
}

// SearchResult is the outcome of the runs/search phase.
type SearchResult struct {
	Runs        int            `json:"runs"`
	Filter      string         `json:"filter"`
	Matching    int            `json:"matching"` // runs the filter must return
	SeedSeconds float64        `json:"seed_seconds"`
	SeedErrors  int            `json:"seed_errors"`
	Queries     []SearchQuery  `json:"queries"`
	Scan        *LatencyResult `json:"scan,omitempty"` // paging through every match once
}

// SearchQuery is the latency of one search shape.
type SearchQuery struct {
	MaxResults int `json:"max_results"`
	LatencyResult
}

// WritersResult is the outcome of the concurrent-writers phase.
type WritersResult struct {
	Writers          int     `json:"writers"`
	Seconds          float64 `json:"seconds"`
	Requests         int     `json:"requests"`
	Errors           int     `json:"errors"`
	FirstError       string  `json:"first_error,omitempty"`
	Acked            int64   `json:"acked_metrics"`       // metrics in requests answered 200
	Unconfirmed      int64   `json:"unconfirmed_metrics"` // metrics in requests that failed
	Stored           int64   `json:"stored_metrics"`      // metrics read back
	Lost             int64   `json:"lost_metrics"`        // acknowledged but not read back
	Unexpected       int64   `json:"unexpected_metrics"`  // read back beyond acked + unconfirmed
	MetricsPerSecond float64 `json:"metrics_per_s"`
	BatchLatency     Latency `json:"batch_latency"`
	MetricLatency    Latency `json:"metric_latency"`
	CountedBack      bool    `json:"counted_back"` // false when interrupted before reading back
	ReadbackSeconds  float64 `json:"readback_seconds"`
	ReadbackErrors   int     `json:"readback_errors"`
}

// Failures lists what went wrong: errors, invalid answers, lost metrics. An
// empty list means every call succeeded and every check held.
func (r *Report) Failures() []string {
	var out []string
	seq := func(name string, l *LatencyResult) {
		if l != nil && l.failed() > 0 {
			out = append(out, fmt.Sprintf("%s: %d errors, %d invalid responses (first: %s)", name, l.Errors, l.Invalid, l.FirstError))
		}
	}
	seq("log-metric", r.LogMetric)
	if r.LogBatch != nil {
		seq("log-batch", &r.LogBatch.LatencyResult)
	}
	seq("get-run", r.GetRun)
	if r.History != nil {
		seq("history", &r.History.LatencyResult)
	}
	if s := r.Search; s != nil {
		if s.SeedErrors > 0 {
			out = append(out, fmt.Sprintf("search: %d errors while seeding", s.SeedErrors))
		}
		for _, q := range s.Queries {
			seq(fmt.Sprintf("search max_results=%d", q.MaxResults), &q.LatencyResult)
		}
		seq("search scan", s.Scan)
	}
	if w := r.Writers; w != nil {
		if w.Errors > 0 || w.ReadbackErrors > 0 {
			out = append(out, fmt.Sprintf("writers: %d errors, %d read-back errors (first: %s)", w.Errors, w.ReadbackErrors, w.FirstError))
		}
		if w.Lost > 0 || w.Unexpected > 0 {
			out = append(out, fmt.Sprintf("writers: %d metrics lost, %d unexpected (acked %d, stored %d)", w.Lost, w.Unexpected, w.Acked, w.Stored))
		}
	}
	return out
}

// WriteTable prints the report for people: one row per measurement with
// its median and tail latencies, then the writers' accounting.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "phase\tmeasure\tcalls\terrors\tmedian\tp90\tp99\tmax\tthroughput\n")
	row := func(phase, measure string, l Latency, errs int, throughput string) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", phase, measure, l.N, errs,
			msText(l.Median), msText(l.P90), msText(l.P99), msText(l.Max), throughput)
	}
	if l := r.LogMetric; l != nil {
		row("log-metric", "sequential", l.Latency, l.failed(), rate(l.PerSecond, "calls/s"))
	}
	if b := r.LogBatch; b != nil {
		row("log-batch", fmt.Sprintf("%d metrics/request", b.MetricsPerRequest), b.Latency, b.failed(), rate(b.MetricsPerSecond, "metrics/s"))
	}
	if l := r.GetRun; l != nil {
		row("get-run", "sequential", l.Latency, l.failed(), rate(l.PerSecond, "calls/s"))
	}
	if h := r.History; h != nil {
		row("history", fmt.Sprintf("%d points", h.Points), h.Latency, h.failed(), rate(h.PerSecond, "calls/s"))
	}
	if s := r.Search; s != nil {
		for _, q := range s.Queries {
			row("search", fmt.Sprintf("max_results=%d", q.MaxResults), q.Latency, q.failed(), rate(q.PerSecond, "calls/s"))
		}
		if s.Scan != nil {
			row("search", "all pages", s.Scan.Latency, s.Scan.failed(), fmt.Sprintf("%d matches", s.Matching))
		}
	}
	if wr := r.Writers; wr != nil {
		row("writers", "log-batch", wr.BatchLatency, wr.Errors, rate(wr.MetricsPerSecond, "metrics/s"))
		row("writers", "log-metric", wr.MetricLatency, 0, "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s := r.Search; s != nil {
		fmt.Fprintf(w, "\nsearch: %d runs seeded in %.1fs (%d errors); filter %q matches %d\n",
			s.Runs, s.SeedSeconds, s.SeedErrors, s.Filter, s.Matching)
	}
	if wr := r.Writers; wr != nil {
		fmt.Fprintf(w, "\nwriters: %d writers for %.1fs, %d requests, %d errors\n", wr.Writers, wr.Seconds, wr.Requests, wr.Errors)
		if wr.CountedBack {
			fmt.Fprintf(w, "  acked %d metrics, read back %d in %.1fs: lost %d, unexpected %d (unconfirmed %d)\n",
				wr.Acked, wr.Stored, wr.ReadbackSeconds, wr.Lost, wr.Unexpected, wr.Unconfirmed)
		} else {
			fmt.Fprintf(w, "  acked %d metrics (unconfirmed %d); not counted back\n", wr.Acked, wr.Unconfirmed)
		}
	}
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "\nFAILURES:\n  %s\n", strings.Join(f, "\n  "))
	}
	return nil
}

func msText(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	default:
		return fmt.Sprintf("%.1fms", v)
	}
}

func rate(v float64, unit string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// logMetric measures sequential runs/log-metric calls on one run, then
// reads the metric back to check that every acknowledged point is there.
func (b *Bench) logMetric(ctx context.Context) (*LatencyResult, error) {
	run, err := b.newRun(ctx, "log-metric")
	if err != nil {
		return nil, err
	}
	n := b.cfg.LogMetricCalls
	ts := b.now().UnixMilli()
	bar := b.prog.Start("log-metric: sequential", int64(n), "calls")
	res, err := b.measure(ctx, sequence{
		calls: n,
		call: func(ctx context.Context, i int) ([]byte, error) {
			m := metric{Key: "latency", Value: float64(i) / 1000, Timestamp: ts + int64(i), Step: int64(i)}
			return nil, b.c.logMetric(ctx, run, m)
		},
	}, bar)
	bar.Done(latencyNote(res.Latency))
	if err != nil {
		return res, err
	}
	hist, err := b.c.history(ctx, run, "latency", 0)
	if err != nil {
		return res, fmt.Errorf("reading the metric back: %w", err)
	}
	if want := res.Calls - res.Errors; len(hist) != want {
		res.Invalid++
		res.noteError(fmt.Errorf("history has %d points after %d acknowledged log-metric calls", len(hist), want))
	}
	return res, nil
}

// getRun measures runs/get of a run with 20 params, 10 tags and 20 metrics
// of 5 steps each.
func (b *Bench) getRun(ctx context.Context) (*LatencyResult, error) {
	run, err := b.newRun(ctx, "get-run")
	if err != nil {
		return nil, err
	}
	req := logBatchRequest{RunID: run}
	ts := b.now().UnixMilli()
	for i := range 20 {
		req.Params = append(req.Params, keyValue{Key: fmt.Sprintf("param_%02d", i), Value: fmt.Sprintf("value %d", i)})
		for step := range 5 {
			req.Metrics = append(req.Metrics, metric{Key: fmt.Sprintf("metric_%02d", i), Value: float64(i*10 + step), Timestamp: ts, Step: int64(step)})
		}
	}
	for i := range 10 {
		req.Tags = append(req.Tags, keyValue{Key: fmt.Sprintf("tag_%02d", i), Value: "bench"})
	}
	if err := b.c.logBatch(ctx, req); err != nil {
		return nil, fmt.Errorf("preparing the run: %w", err)
	}
	bar := b.prog.Start("get-run: sequential", int64(b.cfg.GetRunCalls), "calls")
	res, err := b.measure(ctx, sequence{
		calls: b.cfg.GetRunCalls,
		call:  func(ctx context.Context, _ int) ([]byte, error) { return b.c.getRunRaw(ctx, run) },
		check: func(data []byte) error {
			r, err := decodeRun(data)
			if err != nil {
				return err
			}
			if len(r.Data.Params) != 20 || len(r.Data.Metrics) != 20 {
				return fmt.Errorf("runs/get: %d params and %d metrics, want 20 and 20", len(r.Data.Params), len(r.Data.Metrics))
			}
			if v, _ := r.metric("metric_07"); v != 74 {
				return fmt.Errorf("runs/get: metric_07 = %v, want the latest step's 74", v)
			}
			return nil
		},
	}, bar)
	bar.Done(latencyNote(res.Latency))
	return res, err
}

// history measures fetching the full history of a metric of HistoryPoints
// points, following next_page_token if the server pages.
func (b *Bench) history(ctx context.Context) (*HistoryResult, error) {
	run, err := b.newRun(ctx, "history")
	if err != nil {
		return nil, err
	}
	n := b.cfg.HistoryPoints
	ts := b.now().UnixMilli()
	for lo := 0; lo < n; lo += 1000 {
		req := logBatchRequest{RunID: run}
		for i := lo; i < min(lo+1000, n); i++ {
			req.Metrics = append(req.Metrics, metric{Key: "history", Value: float64(i) * 0.5, Timestamp: ts + int64(i), Step: int64(i)})
		}
		if err := b.c.logBatch(ctx, req); err != nil {
			return nil, fmt.Errorf("preparing the metric: %w", err)
		}
	}
	var pages [][]byte // the answers of the current call, checked untimed
	bar := b.prog.Start(fmt.Sprintf("history: %d points", n), int64(b.cfg.HistoryCalls), "calls")
	res, err := b.measure(ctx, sequence{
		calls: b.cfg.HistoryCalls,
		call: func(ctx context.Context, _ int) ([]byte, error) {
			pages = pages[:0]
			token := ""
			for range 1000 {
				data, err := b.c.historyPageRaw(ctx, run, "history", 0, token)
				if err != nil {
					return nil, err
				}
				pages = append(pages, data)
				if token = nextToken(data); token == "" {
					return nil, nil
				}
			}
			return nil, fmt.Errorf("metrics/get-history: more than 1000 pages")
		},
		check: func([]byte) error {
			got := 0
			for _, data := range pages {
				var p historyPage
				if err := json.Unmarshal(data, &p); err != nil {
					return fmt.Errorf("metrics/get-history: %w", err)
				}
				got += len(p.Metrics)
			}
			if got != n {
				return fmt.Errorf("metrics/get-history: %d points, want %d", got, n)
			}
			return nil
		},
	}, bar)
	bar.Done(latencyNote(res.Latency))
	return &HistoryResult{LatencyResult: *res, Points: n}, err
}

// nextToken returns the next_page_token of a paged answer without decoding
// the whole of it when it has none.
func nextToken(data []byte) string {
	if !bytes.Contains(data, []byte(`"next_page_token"`)) {
		return ""
	}
	var p struct {
		NextPageToken string `json:"next_page_token"`
	}
	_ = json.Unmarshal(data, &p) // a bad body ends paging; the check reports it
	return p.NextPageToken
}

package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
)

// logBatch measures runs/log-batch throughput: BatchRequests requests of
// BatchSize metrics each, one after the other, on one run. The bodies are
// encoded before the clock starts, so only the server's work is timed.
func (b *Bench) logBatch(ctx context.Context) (*BatchResult, error) {
	run, err := b.newRun(ctx, "log-batch")
	if err != nil {
		return nil, err
	}
	const keys = 10
	ts := b.now().UnixMilli()
	bodies := make([][]byte, b.cfg.BatchRequests)
	for r := range bodies {
		req := logBatchRequest{RunID: run, Metrics: make([]metric, b.cfg.BatchSize)}
		for i := range req.Metrics {
			step := int64(r*b.cfg.BatchSize+i) / keys
			req.Metrics[i] = metric{Key: fmt.Sprintf("batch_%d", i%keys), Value: float64(step) * 0.001, Timestamp: ts + step, Step: step}
		}
		if bodies[r], err = json.Marshal(req); err != nil {
			return nil, err
		}
	}
	bar := b.prog.Start(fmt.Sprintf("log-batch: %d×%d metrics", b.cfg.BatchRequests, b.cfg.BatchSize), int64(len(bodies)), "requests")
	res, err := b.measure(ctx, sequence{
		calls: len(bodies),
		call: func(ctx context.Context, i int) ([]byte, error) {
			return b.c.call(ctx, "POST", "runs/log-batch", nil, bodies[i])
		},
	}, bar)
	out := &BatchResult{LatencyResult: *res, MetricsPerRequest: b.cfg.BatchSize}
	out.MetricsPerSecond = res.PerSecond * float64(b.cfg.BatchSize)
	bar.Done(fmt.Sprintf("%.0f metrics/s", out.MetricsPerSecond))
	return out, err
}

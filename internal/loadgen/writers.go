package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// writerKeys are the metrics every writer logs; steps are unique per writer
// across keys, so no two metrics of a run are equal and none is de-duplicated.
var writerKeys = [...]string{"loss", "accuracy", "lr", "grad_norm"}

// writer is the tally of one concurrent writer.
type writer struct {
	run         string
	acked       [len(writerKeys)]int64 // metrics answered 200, per key
	unconfirmed [len(writerKeys)]int64 // metrics of failed requests, per key
	stored      [len(writerKeys)]int64 // distinct steps read back, per key
	read        [len(writerKeys)]bool  // whether the key's history was read back
	readDups    int64                  // points read back twice
	requests    int
	errors      int
	firstErr    error
	batchLat    []time.Duration
	metricLat   []time.Duration
}

// writers runs Writers writers for Duration, each on its own run, logging a
// log-batch of WriterBatch metrics and a single log-metric in turn; then it
// reads every history back and compares it with what was acknowledged.
func (b *Bench) writers(ctx context.Context) (*WritersResult, error) {
	ws := make([]*writer, b.cfg.Writers)
	for i := range ws {
		run, err := b.newRun(ctx, fmt.Sprintf("writer-%d", i))
		if err != nil {
			return nil, err
		}
		ws[i] = &writer{run: run}
	}
	res := &WritersResult{Writers: len(ws)}
	bar := b.prog.Start(fmt.Sprintf("writers: %d for %s", len(ws), b.cfg.Duration), 0, "metrics")
	start := b.now()
	deadline := start.Add(b.cfg.Duration)
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { b.write(ctx, w, uint64(i), deadline, bar) }) // waited for below
	}
	wg.Wait()
	res.Seconds = b.now().Sub(start).Seconds()

	var batchLat, metricLat []time.Duration
	for _, w := range ws {
		res.Requests += w.requests
		res.Errors += w.errors
		if w.firstErr != nil && res.FirstError == "" {
			res.FirstError = w.firstErr.Error()
		}
		for k := range writerKeys {
			res.Acked += w.acked[k]
			res.Unconfirmed += w.unconfirmed[k]
		}
		batchLat = append(batchLat, w.batchLat...)
		metricLat = append(metricLat, w.metricLat...)
	}
	res.BatchLatency, res.MetricLatency = Summarize(batchLat), Summarize(metricLat)
	if res.Seconds > 0 {
		res.MetricsPerSecond = float64(res.Acked) / res.Seconds
	}
	bar.Done(fmt.Sprintf("%.0f metrics/s, %d errors", res.MetricsPerSecond, res.Errors))
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, b.countBack(ctx, ws, res)
}

// write is the loop of one writer. It starts no request after deadline and
// never cancels one in flight, so that every request ends acknowledged or
// failed, never in doubt.
func (b *Bench) write(ctx context.Context, w *writer, seed uint64, deadline time.Time, bar *Bar) {
	rng := rand.New(rand.NewPCG(seed, uint64(deadline.UnixNano())))
	var step int64
	for i := 0; ctx.Err() == nil && b.now().Before(deadline); i++ {
		ts := b.now().UnixMilli()
		var perKey [len(writerKeys)]int64
		var err error
		t0 := b.now()
		if i%2 == 0 {
			req := logBatchRequest{RunID: w.run, Metrics: make([]metric, b.cfg.WriterBatch)}
			for j := range req.Metrics {
				k := j % len(writerKeys)
				req.Metrics[j] = metric{Key: writerKeys[k], Value: rng.Float64(), Timestamp: ts, Step: step}
				step++
				perKey[k]++
			}
			err = b.c.logBatch(ctx, req)
			if err == nil {
				w.batchLat = append(w.batchLat, b.now().Sub(t0))
			}
		} else {
			k := (i / 2) % len(writerKeys)
			err = b.c.logMetric(ctx, w.run, metric{Key: writerKeys[k], Value: rng.Float64(), Timestamp: ts, Step: step})
			step++
			perKey[k]++
			if err == nil {
				w.metricLat = append(w.metricLat, b.now().Sub(t0))
			}
		}
		w.requests++
		var n int64
		for k, c := range perKey {
			n += c
			if err == nil {
				w.acked[k] += c
			} else {
				w.unconfirmed[k] += c
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.errors++
			if w.firstErr == nil {
				w.firstErr = err
			}
			time.Sleep(10 * time.Millisecond) // don't spin on a server that is down
			continue
		}
		bar.Add(n)
	}
}

// countBack reads every writer's histories with paged get-history and fills
// in the stored, lost and unexpected counts of res.
func (b *Bench) countBack(ctx context.Context, ws []*writer, res *WritersResult) error {
	type job struct {
		w *writer
		k int
	}
	jobs := make(chan job)
	bar := b.prog.Start("writers: counting back", int64(len(ws)*len(writerKeys)), "histories")
	start := b.now()
	var (
		wg       sync.WaitGroup
		errs     atomic.Int64
		firstErr atomic.Pointer[error]
	)
	for range min(len(ws)*len(writerKeys), 8) {
		wg.Go(func() { // waited for below
			for j := range jobs {
				hist, err := b.c.history(ctx, j.w.run, writerKeys[j.k], b.cfg.PageSize)
				bar.Add(1)
				if err != nil {
					if ctx.Err() == nil { // an interruption is not the server's fault
						errs.Add(1)
						firstErr.CompareAndSwap(nil, &err)
					}
					continue
				}
				steps := make(map[int64]bool, len(hist))
				for _, m := range hist {
					steps[int64(m.Step)] = true
				}
				j.w.stored[j.k], j.w.read[j.k] = int64(len(steps)), true // each job owns its slot
				atomic.AddInt64(&j.w.readDups, int64(len(hist)-len(steps)))
			}
		})
	}
	for _, w := range ws {
		for k := range writerKeys {
			jobs <- job{w, k}
		}
	}
	close(jobs)
	wg.Wait()
	res.ReadbackSeconds = b.now().Sub(start).Seconds()
	res.CountedBack = ctx.Err() == nil
	res.ReadbackErrors = int(errs.Load())
	if e := firstErr.Load(); e != nil && res.FirstError == "" {
		res.FirstError = (*e).Error()
	}
	for _, w := range ws {
		res.Unexpected += w.readDups
		for k := range writerKeys {
			if !w.read[k] {
				continue // counted in ReadbackErrors
			}
			res.Stored += w.stored[k]
			if d := w.acked[k] - w.stored[k]; d > 0 {
				res.Lost += d
			}
			if d := w.stored[k] - w.acked[k] - w.unconfirmed[k]; d > 0 {
				res.Unexpected += d
			}
		}
	}
	bar.Done(fmt.Sprintf("%d stored, %d lost", res.Stored, res.Lost))
	return ctx.Err()
}

package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// searchFilter is the filter the search phase measures.
const searchFilter = "metrics.acc > 0.5"

// accOf is the accuracy logged on seeded run i: it runs through 0, 0.001, …,
// 0.999 in a scrambled order, so about half of the runs match searchFilter
// and the matches are spread over the whole experiment.
func accOf(i int) float64 { return float64(i*7919%1000) / 1000 }

// search seeds an experiment of SearchRuns runs, then measures runs/search
// with a metric filter at max_results 100 and 1000, checking every answer,
// and finally pages through all the matches once to count them.
func (b *Bench) search(ctx context.Context) (*SearchResult, error) {
	exp, err := b.c.createExperiment(ctx, b.name+"-search")
	if err != nil {
		return nil, err
	}
	res := &SearchResult{Runs: b.cfg.SearchRuns, Filter: searchFilter}
	start := b.now()
	matching, seedErrs, err := b.seed(ctx, exp)
	res.SeedSeconds = b.now().Sub(start).Seconds()
	res.Matching, res.SeedErrors = matching, seedErrs
	if err != nil {
		return res, err
	}

	for _, maxResults := range []int{100, 1000} {
		want := min(maxResults, matching)
		bar := b.prog.Start(fmt.Sprintf("search: max_results=%d", maxResults), int64(b.cfg.SearchCalls), "calls")
		q, err := b.measure(ctx, sequence{
			calls: b.cfg.SearchCalls,
			call: func(ctx context.Context, _ int) ([]byte, error) {
				return b.c.searchRaw(ctx, searchRequest{ExperimentIDs: []string{exp}, Filter: searchFilter, MaxResults: maxResults})
			},
			check: func(data []byte) error {
				p, err := decodeSearch(data)
				if err != nil {
					return err
				}
				if len(p.Runs) != want {
					return fmt.Errorf("runs/search max_results=%d: %d runs, want %d", maxResults, len(p.Runs), want)
				}
				return checkMatches(p.Runs)
			},
		}, bar)
		bar.Done(latencyNote(q.Latency))
		res.Queries = append(res.Queries, SearchQuery{MaxResults: maxResults, LatencyResult: *q})
		if err != nil {
			return res, err
		}
	}

	res.Scan, err = b.scan(ctx, exp, matching)
	return res, err
}

// seed creates the runs of the search experiment with SeedWorkers workers.
// Each run gets its metrics, params and tags in one log-batch. It returns
// how many seeded runs match searchFilter and how many calls failed.
func (b *Bench) seed(ctx context.Context, exp string) (matching, failed int, err error) {
	n := b.cfg.SearchRuns
	bar := b.prog.Start(fmt.Sprintf("search: seeding %d runs", n), int64(n), "runs")
	var (
		next, matches, errs atomic.Int64
		firstErr            atomic.Pointer[error]
		wg                  sync.WaitGroup
	)
	base := b.now().Add(-time.Duration(n) * time.Millisecond)
	for range b.cfg.SeedWorkers {
		wg.Go(func() { // waited for below
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := b.seedRun(ctx, exp, i, base); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, &err)
					}
				} else if accOf(i) > 0.5 {
					matches.Add(1)
				}
				bar.Add(1)
			}
		})
	}
	wg.Wait()
	note := fmt.Sprintf("%d errors", errs.Load())
	if e := firstErr.Load(); e != nil {
		note += " (first: " + (*e).Error() + ")"
	}
	bar.Done(note)
	return int(matches.Load()), int(errs.Load()), ctx.Err()
}

func (b *Bench) seedRun(ctx context.Context, exp string, i int, base time.Time) error {
	run, err := b.c.createRun(ctx, exp, fmt.Sprintf("seed-%05d", i), base.Add(time.Duration(i)*time.Millisecond))
	if err != nil {
		return err
	}
	ts := b.now().UnixMilli()
	acc := accOf(i)
	return b.c.logBatch(ctx, logBatchRequest{
		RunID: run,
		Metrics: []metric{
			{Key: "acc", Value: acc, Timestamp: ts},
			{Key: "loss", Value: 1 - acc, Timestamp: ts},
			{Key: "epoch_time", Value: float64(i%60) + 0.5, Timestamp: ts},
		},
		Params: []keyValue{
			{Key: "lr", Value: fmt.Sprintf("%g", 0.001*float64(1+i%10))},
			{Key: "depth", Value: fmt.Sprint(2 + i%8)},
			{Key: "model", Value: []string{"gbm", "mlp", "linear"}[i%3]},
		},
		Tags: []keyValue{{Key: "bench.shard", Value: fmt.Sprint(i % 16)}},
	})
}

// scan pages through every run matching searchFilter with max_results 1000
// and checks that each is returned once and that none is missing.
func (b *Bench) scan(ctx context.Context, exp string, matching int) (*LatencyResult, error) {
	res := &LatencyResult{}
	bar := b.prog.Start("search: all pages", int64(matching), "runs")
	defer func() { bar.Done(latencyNote(res.Latency)) }()
	seen := make(map[string]bool, matching)
	var lat []time.Duration
	token := ""
	for {
		t0 := b.now()
		data, err := b.c.searchRaw(ctx, searchRequest{ExperimentIDs: []string{exp}, Filter: searchFilter, MaxResults: 1000, PageToken: token})
		d := b.now().Sub(t0)
		res.Calls++
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Errors++
			res.noteError(err)
			break
		}
		lat = append(lat, d)
		p, err := decodeSearch(data)
		if err == nil {
			err = checkMatches(p.Runs)
		}
		if err != nil {
			res.Invalid++
			res.noteError(err)
			break
		}
		for _, r := range p.Runs {
			if seen[r.Info.RunID] {
				res.Invalid++
				res.noteError(fmt.Errorf("runs/search: run %s returned on two pages", r.Info.RunID))
			}
			seen[r.Info.RunID] = true
		}
		bar.Add(int64(len(p.Runs)))
		if token = p.NextPageToken; token == "" || res.Calls > matching/1000+10 {
			break
		}
	}
	if res.Errors == 0 && len(seen) != matching {
		res.Invalid++
		res.noteError(fmt.Errorf("runs/search: paging returned %d runs, want %d", len(seen), matching))
	}
	res.Latency = Summarize(lat)
	return res, nil
}

// checkMatches checks that every run satisfies searchFilter.
func checkMatches(runs []runData) error {
	for _, r := range runs {
		if acc, ok := r.metric("acc"); !ok || acc <= 0.5 {
			return fmt.Errorf("runs/search: run %s with acc=%v (present %t) does not match %q", r.Info.RunID, acc, ok, searchFilter)
		}
	}
	return nil
}

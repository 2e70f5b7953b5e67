package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
	"github.com/posml/posml/internal/web"
)

// Size of the benchmark store: the target.
const (
	benchRuns          = 100000
	benchPointsPerRun  = 10 // 1 000 000 metric points in all
	benchLongHistory   = 100000
	benchStoreBasename = "posml-web-bench-v1.db"
)

// benchStore opens (seeding it on first use, which takes a while) a SQLite
// store with one experiment of 100 000 runs, each with 3 params and 10
// metric points, plus one run with a 100 000-point metric. The file is kept
// in $POSML_BENCH_DIR (default the system temp directory) for later runs.
func benchStore(b *testing.B) (*sqlstore.Store, string) {
	b.Helper()
	ctx := context.Background()
	dir := os.Getenv("POSML_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	file := filepath.Join(dir, benchStoreBasename)
	_, statErr := os.Stat(file)
	fresh := statErr != nil
	if fresh {
		file += ".seeding"
		os.Remove(file)
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: file + "?synchronous=normal"})
	if err != nil {
		b.Fatal(err)
	}
	if fresh {
		start := time.Now()
		exp, err := s.CreateExperiment(ctx, "bench", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		t0 := int64(1767225600000)
		for i := range benchRuns {
			run, err := s.CreateRun(ctx, sqlstore.NewRun{ExperimentID: exp, RunName: fmt.Sprintf("run-%06d", i), StartTime: t0 + int64(i)*1000})
			if err != nil {
				b.Fatal(err)
			}
			ms := make([]tracking.Metric, 0, benchPointsPerRun)
			for step := range int64(benchPointsPerRun - 2) {
				ms = append(ms, tracking.Metric{Key: "loss", Value: 1 / float64(step+1+int64(i%97)), Timestamp: t0 + step, Step: step})
			}
			ms = append(ms, tracking.Metric{Key: "rmse", Value: float64(i%1000) / 1000, Timestamp: t0}, tracking.Metric{Key: "auc", Value: float64(i%777) / 777, Timestamp: t0})
			ps := []tracking.Param{{Key: "alpha", Value: fmt.Sprint(i % 10)}, {Key: "depth", Value: fmt.Sprint(i % 7)}, {Key: "model", Value: "xgboost"}}
			if err := s.LogBatch(ctx, run.Info.RunID, ms, ps, nil); err != nil {
				b.Fatal(err)
			}
			if i == benchRuns-1 {
				batch := make([]tracking.Metric, 0, 1000)
				for step := range int64(benchLongHistory) {
					batch = append(batch, tracking.Metric{Key: "train_loss", Value: 1 / float64(step+1), Timestamp: t0 + step, Step: step})
					if len(batch) == cap(batch) {
						if err := s.LogBatch(ctx, run.Info.RunID, batch, nil, nil); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
			}
		}
		s.Close()
		if err := os.Rename(file, filepath.Join(dir, benchStoreBasename)); err != nil {
			b.Fatal(err)
		}
		os.Remove(file + "-wal")
		os.Remove(file + "-shm")
		b.Logf("seeded %d runs in %v", benchRuns, time.Since(start).Round(time.Second))
		return benchStore(b)
	}
	b.Cleanup(func() { s.Close() })
	exps, _, err := s.ExperimentSummaries(ctx, 10, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range exps {
		if e.Name == "bench" {
			return s, e.ID
		}
	}
	b.Fatal("no bench experiment")
	return nil, ""
}

// BenchmarkPages measures the server time of each page over real HTTP with
// 100 000 runs and 1 000 000 metric points in the store.
func BenchmarkPages(b *testing.B) {
	s, exp := benchStore(b)
	ctx := context.Background()
	art, err := artifact.OpenLocal(artifact.LocalConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer art.Close()
	ts := httptest.NewServer(web.Handler(web.Deps{Store: s, Artifacts: art}, web.Options{}))
	defer ts.Close()
	runs, _, err := s.SearchRuns(ctx, sqlstore.RunQuery{ExperimentIDs: []string{exp}, MaxResults: 2, View: tracking.ViewActiveOnly})
	if err != nil || len(runs) < 2 {
		b.Fatal(err)
	}
	newest, other := runs[0].Info.RunID, runs[1].Info.RunID
	q := url.QueryEscape
	for _, bc := range []struct{ name, path string }{
		{"experiments", "/"},
		{"runs", "/experiments/" + exp},
		{"runs-page-1000", "/experiments/" + exp + "?page=1000"},
		{"runs-filter", "/experiments/" + exp + "?filter=" + q("metrics.rmse < 0.01 and params.alpha = '3'")},
		{"runs-sort-metric", "/experiments/" + exp + "?order=" + q("metrics.rmse DESC")},
		{"runs-sort-param", "/experiments/" + exp + "?order=" + q("params.depth ASC")},
		{"run", "/runs/" + newest},
		{"series-100k", "/runs/" + newest + "/series?key=train_loss"},
		{"compare", "/compare?run=" + newest + "&run=" + other},
		{"models", "/models"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(ts.URL + bc.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s = %d", bc.path, resp.StatusCode)
				}
			}
		})
	}
}

package sqlstore

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml/internal/tracking"
)

func TestExperimentSummaries(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, err := s.CreateExperiment(ctx, "a-summaries", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateExperiment(ctx, "b-summaries", "", nil); err != nil {
			t.Fatal(err)
		}
		for i, start := range []int64{1000, 3000, 2000} {
			if _, err := s.CreateRun(ctx, NewRun{ExperimentID: a, StartTime: start, RunName: "r" + string(rune('0'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		got, more, err := s.ExperimentSummaries(ctx, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string][2]int64{}
		for _, x := range got {
			counts[x.Name] = [2]int64{x.Runs, x.LastRun}
		}
		want := map[string][2]int64{"Default": {0, 0}, "a-summaries": {3, 3000}, "b-summaries": {0, 0}}
		if more || !cmp.Equal(counts, want) {
			t.Errorf("ExperimentSummaries = %v, more %v; want %v, more false", counts, more, want)
		}
		page, more, err := s.ExperimentSummaries(ctx, 1, 1)
		if err != nil || len(page) != 1 || page[0].Name != "a-summaries" || !more {
			t.Errorf("ExperimentSummaries(1, 1) = %+v, %v, %v; want a-summaries, more", page, more, err)
		}
	})
}

func TestMetricSeries(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		run, err := s.CreateRun(ctx, NewRun{})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		// Timestamps out of step order, a NaN and an infinity.
		ms := []tracking.Metric{
			{Key: "loss", Value: 3, Timestamp: 10, Step: 2},
			{Key: "loss", Value: 1, Timestamp: 20, Step: 0},
			{Key: "loss", Value: math.NaN(), Timestamp: 30, Step: 1},
			{Key: "loss", Value: math.Inf(1), Timestamp: 40, Step: 3},
			{Key: "other", Value: 9, Timestamp: 10, Step: 0},
		}
		if err := s.LogBatch(ctx, id, ms, nil, nil); err != nil {
			t.Fatal(err)
		}
		steps, values, err := s.MetricSeries(ctx, id, "loss")
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(steps, []int64{0, 1, 2, 3}) || values[0] != 1 || !math.IsNaN(values[1]) || values[2] != 3 || !math.IsInf(values[3], 1) {
			t.Errorf("MetricSeries = %v, %v", steps, values)
		}
		steps, _, err = s.MetricSeries(ctx, "no-such-run", "loss")
		if err != nil || len(steps) != 0 {
			t.Errorf("MetricSeries(unknown run) = %v, %v; want nothing", steps, err)
		}
	})
}

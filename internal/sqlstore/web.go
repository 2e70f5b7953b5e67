package sqlstore

import (
	"context"
	"database/sql"
	"sort"
	"strconv"

	"github.com/posml/posml/internal/tracking"
)

// This file holds the read queries only the web UI needs.

// ExperimentSummary is an experiment with the counts the experiments page
// shows.
type ExperimentSummary struct {
	tracking.Experiment
	Runs    int64 // active and deleted runs alike
	LastRun int64 // start time (ms) of the newest run; 0 without runs
}

// ExperimentSummaries returns the active experiments ordered by name, from
// offset, at most limit, each with its number of runs and the start time of
// its newest run, and whether more follow. Each count is an index range
// scan (runs_experiment_start), so it stays fast with many runs.
func (s *Store) ExperimentSummaries(ctx context.Context, limit, offset int) ([]ExperimentSummary, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	var out []ExperimentSummary
	err := s.scanEach(ctx, `SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time,
			(SELECT COUNT(*) FROM runs r WHERE r.experiment_id = e.experiment_id),
			COALESCE((SELECT MAX(r.start_time) FROM runs r WHERE r.experiment_id = e.experiment_id), 0)
		FROM experiments e WHERE e.lifecycle_stage = ? ORDER BY e.name LIMIT ? OFFSET ?`,
		[]any{string(tracking.StageActive), limit + 1, offset}, func(rows *sql.Rows) error {
			var x ExperimentSummary
			var id int64
			var stage string
			if err := rows.Scan(&id, &x.Name, &x.ArtifactLocation, &stage, &x.CreationTime, &x.LastUpdateTime, &x.Runs, &x.LastRun); err != nil {
				return err
			}
			x.ID = strconv.FormatInt(id, 10)
			x.LifecycleStage = tracking.LifecycleStage(stage)
			out = append(out, x)
			return nil
		})
	if err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// MetricSeries returns the whole history of a run's metric as two parallel
// slices, ordered by step (then timestamp and value): the cheap form of
// GetMetricHistory for charts of long histories. NaN values read as NaN and
// clamped infinities as ±Inf. An unknown run or key has no history.
func (s *Store) MetricSeries(ctx context.Context, runID, key string) (steps []int64, values []float64, err error) {
	err = s.scanEach(ctx, `SELECT m.step, m.value, m.is_nan FROM metrics m JOIN runs r ON r.id = m.run_id
		WHERE r.run_uuid = ? AND m.key = ? ORDER BY m.timestamp, m.step, m.value`,
		[]any{runID, key}, func(rows *sql.Rows) error {
			var step int64
			var v float64
			var nan int
			if err := rows.Scan(&step, &v, &nan); err != nil {
				return err
			}
			steps = append(steps, step)
			values = append(values, loadValue(v, nan != 0))
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	// The primary key gives timestamp order (no sort in SQL); steps almost
	// always follow it, so this sort is rarely more than a check.
	if !sort.SliceIsSorted(steps, func(i, j int) bool { return steps[i] < steps[j] }) {
		sort.Stable(seriesByStep{steps, values})
	}
	return steps, values, nil
}

type seriesByStep struct {
	steps  []int64
	values []float64
}

func (s seriesByStep) Len() int           { return len(s.steps) }
func (s seriesByStep) Less(i, j int) bool { return s.steps[i] < s.steps[j] }
func (s seriesByStep) Swap(i, j int) {
	s.steps[i], s.steps[j] = s.steps[j], s.steps[i]
	s.values[i], s.values[j] = s.values[j], s.values[i]
}

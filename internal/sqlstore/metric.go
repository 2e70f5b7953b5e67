package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"sort"

	"github.com/posml/posml/internal/tracking"
)

// LogMetric logs one metric value to an active run.
func (s *Store) LogMetric(ctx context.Context, runID string, m tracking.Metric) error {
	return s.logBatch(ctx, runID, []tracking.Metric{m}, nil, nil, false)
}

// LogParam logs a param of an active run. Logging the same value again is a
// no-op; a different value is an error.
func (s *Store) LogParam(ctx context.Context, runID string, p tracking.Param) error {
	return s.logBatch(ctx, runID, nil, []tracking.Param{p}, nil, true)
}

// SetTag sets a tag of an active run; mlflow.runName also renames the run.
func (s *Store) SetTag(ctx context.Context, runID string, t tracking.Tag) error {
	return s.logBatch(ctx, runID, nil, nil, []tracking.Tag{t}, false)
}

// LogBatch logs metrics, params and tags of an active run in one transaction.
// The caller has validated them (tracking.ValidateBatch).
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	return s.logBatch(ctx, runID, metrics, params, tags, false)
}

func (s *Store) logBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag, singleParam bool) error {
	return internalOrNil("log batch", s.inTx(ctx, func(t *tx) error {
		r, err := t.activeRun(runID)
		if err != nil {
			return err
		}
		if err := t.logParams(r, params, singleParam); err != nil {
			return err
		}
		if err := t.logMetrics(r, metrics); err != nil {
			return err
		}
		var plain []tracking.Tag
		for _, tg := range tags {
			if tg.Key == tracking.TagRunName {
				if err := t.updateRun(r, RunUpdate{RunName: tg.Value}); err != nil {
					return err
				}
				continue
			}
			plain = append(plain, tg)
		}
		return t.upsertTags(r.id, plain)
	}))
}

func (t *tx) logParams(r runRef, params []tracking.Param, single bool) error {
	if len(params) == 0 {
		return nil
	}
	existing := make(map[string]string)
	for lo := 0; lo < len(params); lo += 500 {
		chunk := params[lo:min(lo+500, len(params))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, r.id)
		for _, p := range chunk {
			args = append(args, p.Key)
		}
		rows, err := t.query(`SELECT key, value FROM params WHERE run_id = ? AND key IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return err
			}
			existing[k] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var changes []tracking.ParamChange
	var fresh []tracking.Param
	seen := map[string]bool{}
	for _, p := range params {
		if old, ok := existing[p.Key]; ok {
			if old != p.Value {
				changes = append(changes, tracking.ParamChange{Key: p.Key, OldValue: old, NewValue: p.Value})
			}
			continue
		}
		if !seen[p.Key] {
			seen[p.Key] = true
			fresh = append(fresh, p)
		}
	}
	if len(changes) > 0 {
		if single {
			c := changes[0]
			return tracking.ErrParamChanged(r.uuid, c.Key, c.OldValue, c.NewValue)
		}
		return tracking.ErrParamsChanged(r.uuid, changes)
	}
	for lo := 0; lo < len(fresh); lo += 100 {
		chunk := fresh[lo:min(lo+100, len(fresh))]
		args := make([]any, 0, len(chunk)*3)
		for _, p := range chunk {
			args = append(args, r.id, p.Key, p.Value)
		}
		if _, err := t.exec(`INSERT INTO params (run_id, key, value) VALUES `+rowsPlaceholders(len(chunk), 3)+` ON CONFLICT (run_id, key) DO NOTHING`, args...); err != nil {
			return err
		}
	}
	return nil
}

// storedMetric is a metric in its stored form.
type storedMetric struct {
	key       string
	value     float64
	isNaN     bool
	timestamp int64
	step      int64
}

// newer reports whether a is strictly more recent than b by (step,
// timestamp, value): MLflow's definition of the latest value.
func (a storedMetric) newer(b storedMetric) bool {
	if a.step != b.step {
		return a.step > b.step
	}
	if a.timestamp != b.timestamp {
		return a.timestamp > b.timestamp
	}
	return a.value > b.value
}

func (t *tx) logMetrics(r runRef, metrics []tracking.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	metricChunk := t.s.d.rowsPerInsert
	rows := make([]storedMetric, 0, len(metrics))
	type dedupeKey struct {
		key      string
		value    float64
		nan      bool
		ts, step int64
	}
	var seen map[dedupeKey]bool
	if len(metrics) > 1 {
		seen = make(map[dedupeKey]bool, len(metrics))
	}
	latest := make(map[string]storedMetric)
	for _, m := range metrics {
		v, nan := storeValue(m.Value)
		sm := storedMetric{key: m.Key, value: v, isNaN: nan, timestamp: m.Timestamp, step: m.Step}
		if seen != nil {
			k := dedupeKey{m.Key, v, nan, m.Timestamp, m.Step}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		rows = append(rows, sm)
		if cur, ok := latest[m.Key]; !ok || sm.newer(cur) {
			latest[m.Key] = sm
		}
	}
	for lo := 0; lo < len(rows); lo += metricChunk {
		chunk := rows[lo:min(lo+metricChunk, len(rows))]
		args := make([]any, 0, len(chunk)*6)
		for _, m := range chunk {
			args = append(args, r.id, m.key, m.timestamp, m.step, m.value, boolInt(m.isNaN))
		}
		if _, err := t.exec(`INSERT INTO metrics (run_id, key, timestamp, step, value, is_nan) VALUES `+rowsPlaceholders(len(chunk), 6)+` ON CONFLICT DO NOTHING`, args...); err != nil {
			return err
		}
	}
	// Latest values: one upsert per chunk, keys in order so that concurrent
	// writers lock rows in the same order.
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for lo := 0; lo < len(keys); lo += metricChunk {
		chunk := keys[lo:min(lo+metricChunk, len(keys))]
		args := make([]any, 0, len(chunk)*6)
		for _, k := range chunk {
			m := latest[k]
			args = append(args, r.id, m.key, m.value, boolInt(m.isNaN), m.timestamp, m.step)
		}
		if _, err := t.exec(`INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp, step) VALUES `+rowsPlaceholders(len(chunk), 6)+`
			ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step
			WHERE excluded.step > latest_metrics.step
			   OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
			   OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)`, args...); err != nil {
			return err
		}
	}
	// Metrics linked to a logged model (MLflow 3) also go to the model.
	var modelArgs []any
	n := 0
	for _, m := range metrics {
		if m.ModelID == "" {
			continue
		}
		v, nan := storeValue(m.Value)
		modelArgs = append(modelArgs, m.ModelID, m.Key, m.Timestamp, m.Step, v, boolInt(nan), r.uuid, m.DatasetName, m.DatasetDigest)
		n++
		if n == metricChunk {
			if err := t.insertModelMetrics(n, modelArgs); err != nil {
				return err
			}
			modelArgs, n = modelArgs[:0], 0
		}
	}
	if n > 0 {
		return t.insertModelMetrics(n, modelArgs)
	}
	return nil
}

func (t *tx) insertModelMetrics(n int, args []any) error {
	_, err := t.exec(`INSERT INTO logged_model_metrics (model_id, key, timestamp, step, value, is_nan, run_id, dataset_name, dataset_digest)
		VALUES `+rowsPlaceholders(n, 9)+` ON CONFLICT DO NOTHING`, args...)
	return err
}

// GetMetricHistory returns up to limit values of a run's metric after skipping
// offset, ordered by timestamp, step and value, and whether more follow. A
// negative limit means all. An unknown run or key has no history.
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string, offset, limit int) ([]tracking.Metric, bool, error) {
	lim := int64(math.MaxInt64)
	if limit >= 0 {
		lim = int64(limit) + 1
	}
	var out []tracking.Metric
	err := s.scanEach(ctx, `SELECT m.value, m.is_nan, m.timestamp, m.step FROM metrics m JOIN runs r ON r.id = m.run_id
		WHERE r.run_uuid = ? AND m.key = ? ORDER BY m.timestamp, m.step, m.value LIMIT ? OFFSET ?`,
		[]any{runID, key, lim, offset}, func(rows *sql.Rows) error {
			m := tracking.Metric{Key: key}
			var nan int
			if err := rows.Scan(&m.Value, &nan, &m.Timestamp, &m.Step); err != nil {
				return err
			}
			m.Value = loadValue(m.Value, nan != 0)
			out = append(out, m)
			return nil
		})
	if err != nil {
		return nil, false, err
	}
	if limit >= 0 && len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// MetricHistoryBulkInterval returns the values of metric key of the runs at
// sampled steps: at most maxResults steps in [start, end] (all steps when
// both are nil), always including each run's first and last step in range,
// ordered by run (in the given order), step, timestamp and value. Each metric
// carries its RunID.
func (s *Store) MetricHistoryBulkInterval(ctx context.Context, runIDs []string, key string, start, end *int64, maxResults int) ([]tracking.Metric, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	args := []any{key}
	for _, id := range runIDs {
		args = append(args, id)
	}
	byRun := make(map[string][]tracking.Metric)
	err := s.scanEach(ctx, `SELECT r.run_uuid, m.value, m.is_nan, m.timestamp, m.step FROM metrics m JOIN runs r ON r.id = m.run_id
		WHERE m.key = ? AND r.run_uuid IN (`+placeholders(len(runIDs))+`) ORDER BY r.run_uuid, m.step, m.timestamp, m.value`, args, func(rows *sql.Rows) error {
		m := tracking.Metric{Key: key}
		var nan int
		if err := rows.Scan(&m.RunID, &m.Value, &nan, &m.Timestamp, &m.Step); err != nil {
			return err
		}
		m.Value = loadValue(m.Value, nan != 0)
		byRun[m.RunID] = append(byRun[m.RunID], m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	stepSet := map[int64]bool{}
	var minMax []int64
	for _, ms := range byRun {
		lo, hi := ms[0].Step, ms[0].Step
		for _, m := range ms {
			stepSet[m.Step] = true
			lo, hi = min(lo, m.Step), max(hi, m.Step)
		}
		minMax = append(minMax, lo, hi)
	}
	all := make([]int64, 0, len(stepSet))
	for st := range stepSet {
		all = append(all, st)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var lo, hi int64
	if start != nil && end != nil {
		lo, hi = *start, *end
	} else if len(all) > 0 {
		hi = all[len(all)-1]
	}
	steps := tracking.SampleSteps(lo, hi, maxResults, all, minMax)
	want := make(map[int64]bool, len(steps))
	for _, st := range steps {
		want[st] = true
	}
	var out []tracking.Metric
	done := map[string]bool{}
	for _, id := range runIDs {
		if done[id] {
			continue
		}
		done[id] = true
		for _, m := range byRun[id] {
			if want[m.Step] {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/tracking"
)

// NewRun is what CreateRun needs.
type NewRun struct {
	ExperimentID string // "" means the default experiment
	UserID       string
	RunName      string
	StartTime    int64
	Tags         []tracking.Tag
}

// CreateRun creates a RUNNING run in an active experiment. Its name is
// RunName, else the mlflow.runName tag, else a generated one; the tag is set to
// the name.
func (s *Store) CreateRun(ctx context.Context, nr NewRun) (tracking.Run, error) {
	if nr.ExperimentID == "" {
		nr.ExperimentID = tracking.DefaultExperimentID
	}
	tags := dedupeTags(nr.Tags)
	tagName := ""
	for _, t := range tags {
		if t.Key == tracking.TagRunName {
			tagName = t.Value
		}
	}
	if err := tracking.RunNameConflict(nr.RunName, tagName); err != nil {
		return tracking.Run{}, err
	}
	name := nr.RunName
	if name == "" {
		name = tagName
	}
	if name == "" {
		name = tracking.RandomName()
	}
	if tagName == "" {
		tags = append(tags, tracking.Tag{Key: tracking.TagRunName, Value: name})
	}
	runID := newUUID()
	var run tracking.Run
	err := s.inTx(ctx, func(t *tx) error {
		expID, stage, err := t.experimentStage(nr.ExperimentID)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.ErrExperimentNotActive(nr.ExperimentID, stage)
		}
		var loc string
		if err := t.queryRow(`SELECT artifact_location FROM experiments WHERE experiment_id = ?`, expID).Scan(&loc); err != nil {
			return err
		}
		info := tracking.RunInfo{
			RunID: runID, RunName: name, ExperimentID: strconv.FormatInt(expID, 10), UserID: nr.UserID,
			Status: tracking.RunRunning, StartTime: nr.StartTime, ArtifactURI: tracking.RunArtifactURI(loc, runID),
			LifecycleStage: tracking.StageActive,
		}
		var id int64
		err = t.queryRow(`INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, artifact_uri, lifecycle_stage)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'active') RETURNING id`,
			runID, expID, name, nr.UserID, int(tracking.RunRunning), nr.StartTime, info.ArtifactURI).Scan(&id)
		if err != nil {
			return err
		}
		if err := t.upsertTags(id, tags); err != nil {
			return err
		}
		run = tracking.Run{Info: info, Tags: tags}
		return nil
	})
	if err != nil {
		return tracking.Run{}, internal("create run", err)
	}
	return run, nil
}

// runRef is a run as a write transaction sees it.
type runRef struct {
	id           int64
	uuid         string
	experimentID int64
	stage        tracking.LifecycleStage
}

// run looks a run up by its ID inside a write transaction.
func (t *tx) run(runID string) (runRef, error) {
	r := runRef{uuid: runID}
	var stage string
	err := t.queryRow(`SELECT id, experiment_id, lifecycle_stage FROM runs WHERE run_uuid = ?`, runID).Scan(&r.id, &r.experimentID, &stage)
	if errors.Is(err, sql.ErrNoRows) {
		return r, tracking.ErrRunNotFound(runID)
	}
	r.stage = tracking.LifecycleStage(stage)
	return r, err
}

// activeRun looks a run up and requires it to be active.
func (t *tx) activeRun(runID string) (runRef, error) {
	r, err := t.run(runID)
	if err == nil && r.stage != tracking.StageActive {
		err = tracking.ErrRunNotActive(runID, r.stage)
	}
	return r, err
}

const runColumns = `r.id, r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage`

func scanRunInfo(sc interface{ Scan(...any) error }) (int64, tracking.RunInfo, error) {
	var id, expID int64
	var status int
	var end sql.NullInt64
	var stage string
	var ri tracking.RunInfo
	err := sc.Scan(&id, &ri.RunID, &expID, &ri.RunName, &ri.UserID, &status, &ri.StartTime, &end, &ri.ArtifactURI, &stage)
	ri.ExperimentID = strconv.FormatInt(expID, 10)
	ri.Status = tracking.RunStatus(status)
	ri.EndTime = end.Int64
	ri.LifecycleStage = tracking.LifecycleStage(stage)
	return id, ri, err
}

// GetRun returns a run, active or deleted, with the latest value of each
// metric, its params, tags, inputs and outputs.
func (s *Store) GetRun(ctx context.Context, runID string) (tracking.Run, error) {
	id, info, err := scanRunInfo(s.readRow(ctx, `SELECT `+runColumns+` FROM runs r WHERE r.run_uuid = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return tracking.Run{}, tracking.ErrRunNotFound(runID)
	}
	if err != nil {
		return tracking.Run{}, internal("get run", err)
	}
	runs := []tracking.Run{{Info: info}}
	if err := s.loadRunData(ctx, []int64{id}, runs, true); err != nil {
		return tracking.Run{}, err
	}
	return runs[0], nil
}

// GetRunInfo returns a run's metadata only.
func (s *Store) GetRunInfo(ctx context.Context, runID string) (tracking.RunInfo, error) {
	_, info, err := scanRunInfo(s.readRow(ctx, `SELECT `+runColumns+` FROM runs r WHERE r.run_uuid = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return info, tracking.ErrRunNotFound(runID)
	}
	return info, internalOrNil("get run", err)
}

// loadRunData fills metrics, params, tags and inputs (and, with outputs,
// model inputs and outputs) of runs, whose database IDs are ids.
func (s *Store) loadRunData(ctx context.Context, ids []int64, runs []tracking.Run, outputs bool) error {
	if len(ids) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(ids))
	for i, id := range ids {
		idx[id] = i
	}
	// Chunk to stay far below placeholder limits.
	for lo := 0; lo < len(ids); lo += 500 {
		hi := min(lo+500, len(ids))
		chunk := ids[lo:hi]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		in := `(` + placeholders(len(chunk)) + `)`
		if err := s.scanEach(ctx, `SELECT run_id, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_id IN `+in+` ORDER BY run_id, key`, args, func(sc *sql.Rows) error {
			var id int64
			var m tracking.Metric
			var isNaN int
			if err := sc.Scan(&id, &m.Key, &m.Value, &isNaN, &m.Timestamp, &m.Step); err != nil {
				return err
			}
			m.Value = loadValue(m.Value, isNaN != 0)
			r := &runs[idx[id]]
			r.Metrics = append(r.Metrics, m)
			return nil
		}); err != nil {
			return err
		}
		if err := s.scanEach(ctx, `SELECT run_id, key, value FROM params WHERE run_id IN `+in+` ORDER BY run_id, key`, args, func(sc *sql.Rows) error {
			var id int64
			var p tracking.Param
			if err := sc.Scan(&id, &p.Key, &p.Value); err != nil {
				return err
			}
			r := &runs[idx[id]]
			r.Params = append(r.Params, p)
			return nil
		}); err != nil {
			return err
		}
		if err := s.scanEach(ctx, `SELECT run_id, key, value FROM tags WHERE run_id IN `+in+` ORDER BY run_id, key`, args, func(sc *sql.Rows) error {
			var id int64
			var t tracking.Tag
			if err := sc.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			r := &runs[idx[id]]
			r.Tags = append(r.Tags, t)
			return nil
		}); err != nil {
			return err
		}
		if err := s.loadDatasetInputs(ctx, in, args, idx, runs); err != nil {
			return err
		}
		if !outputs {
			continue
		}
		if err := s.scanEach(ctx, `SELECT run_id, model_id FROM model_inputs WHERE run_id IN `+in+` ORDER BY run_id, model_id`, args, func(sc *sql.Rows) error {
			var id int64
			var mi tracking.ModelInput
			if err := sc.Scan(&id, &mi.ModelID); err != nil {
				return err
			}
			r := &runs[idx[id]]
			r.ModelInputs = append(r.ModelInputs, mi)
			return nil
		}); err != nil {
			return err
		}
		if err := s.scanEach(ctx, `SELECT run_id, model_id, step FROM model_outputs WHERE run_id IN `+in+` ORDER BY run_id, step, model_id`, args, func(sc *sql.Rows) error {
			var id int64
			var mo tracking.ModelOutput
			if err := sc.Scan(&id, &mo.ModelID, &mo.Step); err != nil {
				return err
			}
			r := &runs[idx[id]]
			r.ModelOutputs = append(r.ModelOutputs, mo)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// scanEach runs a read query and calls f for each row.
func (s *Store) scanEach(ctx context.Context, q string, args []any, f func(*sql.Rows) error) error {
	rows, err := s.readQuery(ctx, q, args...)
	if err != nil {
		return internal("query", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return internal("scan", err)
		}
	}
	return internalOrNil("query", rows.Err())
}

// storeValue maps a metric value to its stored form: NaN → (0, true), ±Inf
// clamped to ±MaxFloat64, as MLflow's SQL store does.
func storeValue(v float64) (float64, bool) {
	switch {
	case math.IsNaN(v):
		return 0, true
	case math.IsInf(v, 1):
		return tracking.InfClamp, false
	case math.IsInf(v, -1):
		return -tracking.InfClamp, false
	}
	return v, false
}

// loadValue maps a stored metric value back: the clamped extremes read as ±Inf
// so that Infinity round-trips through the API.
func loadValue(v float64, isNaN bool) float64 {
	switch {
	case isNaN:
		return math.NaN()
	case v >= tracking.InfClamp:
		return math.Inf(1)
	case v <= -tracking.InfClamp:
		return math.Inf(-1)
	}
	return v
}

// RunUpdate is what UpdateRun changes; nil fields stay.
type RunUpdate struct {
	Status  *tracking.RunStatus
	EndTime *int64
	RunName string // "" keeps the name
}

// UpdateRun updates the status, end time and name of an active run and
// returns its new info. A new name also sets the mlflow.runName tag.
func (s *Store) UpdateRun(ctx context.Context, runID string, u RunUpdate) (tracking.RunInfo, error) {
	err := s.inTx(ctx, func(t *tx) error {
		r, err := t.activeRun(runID)
		if err != nil {
			return err
		}
		return t.updateRun(r, u)
	})
	if err != nil {
		return tracking.RunInfo{}, internal("update run", err)
	}
	return s.runInfoAfterWrite(ctx, runID)
}

func (t *tx) updateRun(r runRef, u RunUpdate) error {
	if u.Status != nil {
		if _, err := t.exec(`UPDATE runs SET status = ? WHERE id = ?`, int(*u.Status), r.id); err != nil {
			return err
		}
	}
	if u.EndTime != nil {
		if _, err := t.exec(`UPDATE runs SET end_time = ? WHERE id = ?`, *u.EndTime, r.id); err != nil {
			return err
		}
	}
	if u.RunName != "" {
		if _, err := t.exec(`UPDATE runs SET name = ? WHERE id = ?`, u.RunName, r.id); err != nil {
			return err
		}
		return t.upsertTags(r.id, []tracking.Tag{{Key: tracking.TagRunName, Value: u.RunName}})
	}
	return nil
}

// runInfoAfterWrite reads a run's info from the writer, so that it sees the
// write just committed.
func (s *Store) runInfoAfterWrite(ctx context.Context, runID string) (tracking.RunInfo, error) {
	_, info, err := scanRunInfo(s.w.QueryRowContext(ctx, s.d.rebind(`SELECT `+runColumns+` FROM runs r WHERE r.run_uuid = ?`), runID))
	if errors.Is(err, sql.ErrNoRows) {
		return info, tracking.ErrRunNotFound(runID)
	}
	return info, internalOrNil("get run", err)
}

// DeleteRun marks a run deleted.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return internalOrNil("delete run", s.inTx(ctx, func(t *tx) error {
		r, err := t.run(runID)
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE id = ?`, t.s.nowMillis(), r.id)
		return err
	}))
}

// RestoreRun marks a deleted run active again.
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return internalOrNil("restore run", s.inTx(ctx, func(t *tx) error {
		r, err := t.run(runID)
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE id = ?`, r.id)
		return err
	}))
}

// DeleteTag deletes a tag of an active run.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return internalOrNil("delete tag", s.inTx(ctx, func(t *tx) error {
		r, err := t.activeRun(runID)
		if err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM tags WHERE run_id = ? AND key = ?`, r.id, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("No tag with name: %s in run with id %s", key, runID)}
		}
		return nil
	}))
}

// upsertTags sets tags of a run in one statement per chunk.
func (t *tx) upsertTags(runID int64, tags []tracking.Tag) error {
	tags = dedupeTags(tags)
	const cols = 3
	for lo := 0; lo < len(tags); lo += 100 {
		chunk := tags[lo:min(lo+100, len(tags))]
		args := make([]any, 0, len(chunk)*cols)
		for _, tg := range chunk {
			args = append(args, runID, tg.Key, tg.Value)
		}
		if _, err := t.exec(`INSERT INTO tags (run_id, key, value) VALUES `+rowsPlaceholders(len(chunk), cols)+`
			ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`, args...); err != nil {
			return err
		}
	}
	return nil
}

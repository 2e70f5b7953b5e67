package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/tracking"
)

// NewLoggedModel is what CreateLoggedModel needs.
type NewLoggedModel struct {
	ExperimentID string
	Name         string // "" → generated
	ModelType    string
	SourceRunID  string
	Params       []tracking.Param
	Tags         []tracking.Tag
}

// CreateLoggedModel creates a PENDING logged model in an active experiment,
// with ID "m-<uuid hex>" and artifacts under
// <experiment location>/models/<id>/artifacts.
func (s *Store) CreateLoggedModel(ctx context.Context, nm NewLoggedModel) (tracking.LoggedModel, error) {
	if nm.Name == "" {
		nm.Name = tracking.RandomName()
	}
	id := "m-" + newUUID()
	err := s.inTx(ctx, func(t *tx) error {
		expID, stage, err := t.experimentStage(nm.ExperimentID)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.ErrExperimentNotActive(nm.ExperimentID, stage)
		}
		var loc string
		if err := t.queryRow(`SELECT artifact_location FROM experiments WHERE experiment_id = ?`, expID).Scan(&loc); err != nil {
			return err
		}
		now := s.nowMillis()
		if _, err := t.exec(`INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
			id, expID, nm.Name, tracking.ModelArtifactURI(loc, id), now, now, int(tracking.ModelStatusPending), nm.ModelType, nm.SourceRunID); err != nil {
			return err
		}
		if err := t.upsertModelParams(id, nm.Params); err != nil {
			return err
		}
		return t.upsertModelTags(id, nm.Tags)
	})
	if err != nil {
		return tracking.LoggedModel{}, internal("create logged model", err)
	}
	return s.loggedModel(ctx, s.w, id, false)
}

func (t *tx) upsertModelParams(id string, params []tracking.Param) error {
	for _, p := range params {
		if _, err := t.exec(`INSERT INTO logged_model_params (model_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, id, p.Key, p.Value); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) upsertModelTags(id string, tags []tracking.Tag) error {
	for _, tg := range tags {
		if _, err := t.exec(`INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, id, tg.Key, tg.Value); err != nil {
			return err
		}
	}
	return nil
}

const modelColumns = `model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, status_message, lifecycle_stage, model_type, source_run_id`

func scanModel(sc interface{ Scan(...any) error }) (tracking.LoggedModel, error) {
	var m tracking.LoggedModel
	var expID int64
	var status int
	var stage string
	err := sc.Scan(&m.ModelID, &expID, &m.Name, &m.ArtifactURI, &m.CreationTimestamp, &m.LastUpdatedTimestamp, &status, &m.StatusMessage, &stage, &m.ModelType, &m.SourceRunID)
	m.ExperimentID = strconv.FormatInt(expID, 10)
	m.Status = tracking.LoggedModelStatus(status)
	m.LifecycleStage = tracking.LifecycleStage(stage)
	return m, err
}

// querier is *sql.DB: the read pool, or the writer to read one's own writes.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// GetLoggedModel returns a logged model with its params, tags and metrics;
// deleted models only with allowDeleted.
func (s *Store) GetLoggedModel(ctx context.Context, id string, allowDeleted bool) (tracking.LoggedModel, error) {
	return s.loggedModel(ctx, s.r, id, allowDeleted)
}

func (s *Store) loggedModel(ctx context.Context, db querier, id string, allowDeleted bool) (tracking.LoggedModel, error) {
	m, err := scanModel(db.QueryRowContext(ctx, s.d.rebind(`SELECT `+modelColumns+` FROM logged_models WHERE model_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !allowDeleted && m.LifecycleStage == tracking.StageDeleted) {
		return tracking.LoggedModel{}, tracking.ErrLoggedModelNotFound(id)
	}
	if err != nil {
		return m, internal("get logged model", err)
	}
	ms := []tracking.LoggedModel{m}
	if err := s.loadModelData(ctx, db, ms); err != nil {
		return m, err
	}
	return ms[0], nil
}

func (s *Store) loadModelData(ctx context.Context, db querier, ms []tracking.LoggedModel) error {
	if len(ms) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ms))
	args := make([]any, len(ms))
	for i, m := range ms {
		idx[m.ModelID] = i
		args[i] = m.ModelID
	}
	in := "(" + placeholders(len(ms)) + ")"
	each := func(q string, f func(*sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, s.d.rebind(q), args...)
		if err != nil {
			return internal("logged model data", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := f(rows); err != nil {
				return internal("logged model data", err)
			}
		}
		return internalOrNil("logged model data", rows.Err())
	}
	if err := each(`SELECT model_id, key, value FROM logged_model_params WHERE model_id IN `+in+` ORDER BY model_id, key`, func(r *sql.Rows) error {
		var id string
		var p tracking.Param
		if err := r.Scan(&id, &p.Key, &p.Value); err != nil {
			return err
		}
		ms[idx[id]].Params = append(ms[idx[id]].Params, p)
		return nil
	}); err != nil {
		return err
	}
	if err := each(`SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN `+in+` ORDER BY model_id, key`, func(r *sql.Rows) error {
		var id string
		var t tracking.Tag
		if err := r.Scan(&id, &t.Key, &t.Value); err != nil {
			return err
		}
		ms[idx[id]].Tags = append(ms[idx[id]].Tags, t)
		return nil
	}); err != nil {
		return err
	}
	return each(`SELECT model_id, key, value, is_nan, timestamp, step, run_id, dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id IN `+in+` ORDER BY model_id, key, timestamp, step`, func(r *sql.Rows) error {
		var id string
		var m tracking.Metric
		var nan int
		if err := r.Scan(&id, &m.Key, &m.Value, &nan, &m.Timestamp, &m.Step, &m.RunID, &m.DatasetName, &m.DatasetDigest); err != nil {
			return err
		}
		m.Value = loadValue(m.Value, nan != 0)
		m.ModelID = id
		ms[idx[id]].Metrics = append(ms[idx[id]].Metrics, m)
		return nil
	})
}

// model checks, inside a write transaction, that a model exists and is
// not deleted.
func (t *tx) model(id string) error {
	var stage string
	err := t.queryRow(`SELECT lifecycle_stage FROM logged_models WHERE model_id = ?`, id).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && stage == string(tracking.StageDeleted)) {
		return tracking.ErrLoggedModelNotFound(id)
	}
	return err
}

// FinalizeLoggedModel sets the status of a logged model.
func (s *Store) FinalizeLoggedModel(ctx context.Context, id string, status tracking.LoggedModelStatus) (tracking.LoggedModel, error) {
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.model(id); err != nil {
			return err
		}
		_, err := t.exec(`UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?`, int(status), s.nowMillis(), id)
		return err
	})
	if err != nil {
		return tracking.LoggedModel{}, internal("finalize logged model", err)
	}
	return s.loggedModel(ctx, s.w, id, false)
}

// SetLoggedModelTags upserts tags of a logged model.
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []tracking.Tag) error {
	return internalOrNil("set logged model tags", s.inTx(ctx, func(t *tx) error {
		if err := t.model(id); err != nil {
			return err
		}
		if err := t.upsertModelTags(id, tags); err != nil {
			return err
		}
		_, err := t.exec(`UPDATE logged_models SET last_updated_timestamp_ms = ? WHERE model_id = ?`, s.nowMillis(), id)
		return err
	}))
}

// DeleteLoggedModelTag deletes a tag of a logged model.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, key string) error {
	return internalOrNil("delete logged model tag", s.inTx(ctx, func(t *tx) error {
		if err := t.model(id); err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?`, id, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("No tag with key '%s' found for model with ID '%s'.", key, id)}
		}
		return nil
	}))
}

// LogLoggedModelParams adds params to a logged model.
func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []tracking.Param) error {
	return internalOrNil("log logged model params", s.inTx(ctx, func(t *tx) error {
		if err := t.model(id); err != nil {
			return err
		}
		return t.upsertModelParams(id, params)
	}))
}

// DeleteLoggedModel marks a logged model deleted.
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error {
	return internalOrNil("delete logged model", s.inTx(ctx, func(t *tx) error {
		if err := t.model(id); err != nil {
			return err
		}
		_, err := t.exec(`UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?`, s.nowMillis(), id)
		return err
	}))
}

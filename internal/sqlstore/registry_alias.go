package sqlstore

// Aliases and the event history of the registry.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/registry"
)

// SetRegisteredModelAlias points an alias at a version that is not deleted,
// replacing its previous target.
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	if err := registry.ValidateModelName(name); err != nil {
		return err
	}
	if err := registry.ValidateAlias(alias); err != nil {
		return err
	}
	return internal("set registered model alias", s.inTx(ctx, func(t *tx) error {
		v, err := regLiveVersion(t, name, version)
		if err != nil {
			return err
		}
		var prev int64
		err = t.queryRow(`SELECT version FROM registered_model_aliases WHERE model_id = ? AND alias = ?`, v.model.id, alias).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := t.exec(`INSERT INTO registered_model_aliases (model_id, alias, version) VALUES (?, ?, ?)
			ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version`, v.model.id, alias, version); err != nil {
			return err
		}
		details := map[string]any{"alias": alias}
		if prev != 0 {
			details["previous_version"] = prev
		}
		return t.regEvent(v.model, version, registry.ActionAliasSet, details, s.nowMillis())
	}))
}

// DeleteRegisteredModelAlias removes an alias; a missing alias is not an
// error, as in MLflow, but a missing model is.
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	if err := registry.ValidateModelName(name); err != nil {
		return err
	}
	if err := registry.ValidateAlias(alias); err != nil {
		return err
	}
	return internal("delete registered model alias", s.inTx(ctx, func(t *tx) error {
		m, err := regModel(t, name)
		if err != nil {
			return err
		}
		var version int64
		err = t.queryRow(`DELETE FROM registered_model_aliases WHERE model_id = ? AND alias = ? RETURNING version`, m.id, alias).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return t.regEvent(m, version, registry.ActionAliasDeleted, map[string]any{"alias": alias}, s.nowMillis())
	}))
}

// GetModelVersionByAlias returns the version an alias points at. An alias
// that is not set (or a model that does not exist) is MLflow's 400
// "Registered model alias X not found.".
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (registry.ModelVersion, error) {
	if err := registry.ValidateModelName(name); err != nil {
		return registry.ModelVersion{}, err
	}
	if err := registry.ValidateAlias(alias); err != nil {
		return registry.ModelVersion{}, err
	}
	r := s.pool(ctx)
	var m modelRef
	var version int64
	m.name = name
	err := r.regRow(`SELECT a.model_id, a.version FROM registered_model_aliases a JOIN registered_models m ON m.id = a.model_id
		WHERE m.name = ? AND a.alias = ?`, name, alias).Scan(&m.id, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return registry.ModelVersion{}, registry.ErrAliasNotFound(alias)
	}
	if err != nil {
		return registry.ModelVersion{}, internal("get model version by alias", err)
	}
	return s.GetModelVersion(ctx, name, version)
}

// RegistryEvents returns the history of a registered model, oldest first:
// the events of the model now named name (from before any rename too), or,
// when no model has that name, the events recorded under that name, such as
// those of a deleted model. limit <= 0 means no limit.
func (s *Store) RegistryEvents(ctx context.Context, name string, limit, offset int) ([]registry.Event, error) {
	if err := registry.ValidateModelName(name); err != nil {
		return nil, err
	}
	r := s.pool(ctx)
	cond, arg := `model_name = ?`, any(name)
	m, err := regModel(r, name)
	switch {
	case err == nil:
		cond, arg = `model_id = ?`, m.id
	case posml.KindOf(err) != posml.KindNotFound:
		return nil, internal("registry events", err)
	}
	q := `SELECT id, model_name, version, action, user_id, pipeline_run_id, event_time, details FROM registry_events WHERE ` + cond + ` ORDER BY id`
	args := []any{arg}
	if limit > 0 || offset > 0 {
		if limit <= 0 {
			limit = math.MaxInt32
		}
		q += ` LIMIT ? OFFSET ?`
		args = append(args, limit, offset)
	}
	var out []registry.Event
	err = r.regEach(q, args, func(rows *sql.Rows) error {
		var e registry.Event
		var action, details string
		if err := rows.Scan(&e.ID, &e.ModelName, &e.Version, &action, &e.Actor.UserID, &e.Actor.PipelineRunID, &e.Timestamp, &details); err != nil {
			return err
		}
		e.Action = registry.Action(action)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, internal("registry events", err)
	}
	if len(out) == 0 && cond == `model_name = ?` {
		return nil, registry.ErrModelNotFound(name)
	}
	return out, nil
}

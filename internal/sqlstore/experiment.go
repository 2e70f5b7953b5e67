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

// ensureDefaultExperiment creates experiment 0 "Default" when the database
// has no experiment at all. Replicas starting at once on an empty database
// may all find none: the first insert wins, the others' unique violation
// means it is there.
func (s *Store) ensureDefaultExperiment(ctx context.Context) error {
	err := s.inTx(ctx, func(t *tx) error {
		var n int
		if err := t.queryRow(`SELECT COUNT(*) FROM experiments`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := s.nowMillis()
		loc := tracking.ExperimentArtifactLocation(s.root, tracking.DefaultExperimentID)
		_, err := t.exec(`INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (0, ?, ?, 'active', ?, ?)`, tracking.DefaultExperimentName, loc, now, now)
		return err
	})
	if isUniqueViolation(err) {
		return nil
	}
	return err
}

// CreateExperiment creates an active experiment and returns its ID. An empty
// artifactLocation becomes <artifact root>/<id>.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []tracking.Tag) (string, error) {
	var id int64
	err := s.inTx(ctx, func(t *tx) error {
		now := s.nowMillis()
		err := t.queryRow(`INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id`, name, artifactLocation, now, now).Scan(&id)
		if err != nil {
			if isUniqueViolation(err) {
				return tracking.ErrExperimentExists(name)
			}
			return err
		}
		if artifactLocation == "" {
			loc := tracking.ExperimentArtifactLocation(s.root, strconv.FormatInt(id, 10))
			if _, err := t.exec(`UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`, loc, id); err != nil {
				return err
			}
		}
		for _, tg := range dedupeTags(tags) {
			if _, err := t.exec(`INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)`, id, tg.Key, tg.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", internal("create experiment", err)
	}
	return strconv.FormatInt(id, 10), nil
}

// dedupeTags keeps the last value of each key, in first-seen key order.
func dedupeTags(tags []tracking.Tag) []tracking.Tag {
	if len(tags) < 2 {
		return tags
	}
	idx := make(map[string]int, len(tags))
	var out []tracking.Tag
	for _, t := range tags {
		if i, ok := idx[t.Key]; ok {
			out[i].Value = t.Value
			continue
		}
		idx[t.Key] = len(out)
		out = append(out, t)
	}
	return out
}

const experimentColumns = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

func scanExperiment(sc interface{ Scan(...any) error }) (tracking.Experiment, error) {
	var e tracking.Experiment
	var id int64
	var stage string
	if err := sc.Scan(&id, &e.Name, &e.ArtifactLocation, &stage, &e.CreationTime, &e.LastUpdateTime); err != nil {
		return e, err
	}
	e.ID = strconv.FormatInt(id, 10)
	e.LifecycleStage = tracking.LifecycleStage(stage)
	return e, nil
}

// GetExperiment returns an experiment, active or deleted, with its tags.
func (s *Store) GetExperiment(ctx context.Context, id string) (tracking.Experiment, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return tracking.Experiment{}, err
	}
	e, err := scanExperiment(s.readRow(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE experiment_id = ?`, n))
	if errors.Is(err, sql.ErrNoRows) {
		return e, tracking.ErrExperimentNotFound(id)
	}
	if err != nil {
		return e, internal("get experiment", err)
	}
	if err := s.loadExperimentTags(ctx, []*tracking.Experiment{&e}); err != nil {
		return e, err
	}
	return e, nil
}

// GetExperimentByName returns the experiment, active or deleted, with that name.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (tracking.Experiment, error) {
	e, err := scanExperiment(s.readRow(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return e, tracking.ErrExperimentNameNotFound(name)
	}
	if err != nil {
		return e, internal("get experiment by name", err)
	}
	if err := s.loadExperimentTags(ctx, []*tracking.Experiment{&e}); err != nil {
		return e, err
	}
	return e, nil
}

func (s *Store) loadExperimentTags(ctx context.Context, exps []*tracking.Experiment) error {
	if len(exps) == 0 {
		return nil
	}
	byID := make(map[int64]*tracking.Experiment, len(exps))
	args := make([]any, 0, len(exps))
	for _, e := range exps {
		n, _ := strconv.ParseInt(e.ID, 10, 64)
		byID[n] = e
		args = append(args, n)
	}
	rows, err := s.readQuery(ctx, `SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (`+placeholders(len(args))+`) ORDER BY experiment_id, key`, args...)
	if err != nil {
		return internal("experiment tags", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t tracking.Tag
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			return internal("experiment tags", err)
		}
		if e := byID[id]; e != nil {
			e.Tags = append(e.Tags, t)
		}
	}
	return internal("experiment tags", rows.Err())
}

// experimentStage reads an experiment's lifecycle stage inside a write
// transaction; a missing experiment is a not-found error.
func (t *tx) experimentStage(id string) (int64, tracking.LifecycleStage, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return 0, "", err
	}
	var stage string
	err = t.queryRow(`SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?`, n).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", tracking.ErrExperimentNotFound(id)
	}
	return n, tracking.LifecycleStage(stage), err
}

// DeleteExperiment marks an active experiment and all its runs deleted.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return internalOrNil("delete experiment", s.inTx(ctx, func(t *tx) error {
		n, stage, err := t.experimentStage(id)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.ErrExperimentNotFound(id)
		}
		now := s.nowMillis()
		if _, err := t.exec(`UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?`, now, n); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE experiment_id = ?`, now, n)
		return err
	}))
}

// RestoreExperiment restores a deleted experiment and its runs.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return internalOrNil("restore experiment", s.inTx(ctx, func(t *tx) error {
		n, stage, err := t.experimentStage(id)
		if err != nil {
			return err
		}
		if stage != tracking.StageDeleted {
			return tracking.ErrExperimentNotFound(id)
		}
		now := s.nowMillis()
		if _, err := t.exec(`UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?`, now, n); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ?`, n)
		return err
	}))
}

// RenameExperiment renames an active experiment.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	return internalOrNil("rename experiment", s.inTx(ctx, func(t *tx) error {
		n, stage, err := t.experimentStage(id)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return posml.Errorf(posml.KindInvalid, "Cannot rename a non-active experiment.")
		}
		_, err = t.exec(`UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?`, newName, s.nowMillis(), n)
		if isUniqueViolation(err) {
			return tracking.ErrExperimentExists(newName)
		}
		return err
	}))
}

// SetExperimentTag sets (upserts) a tag on an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id string, tag tracking.Tag) error {
	return internalOrNil("set experiment tag", s.inTx(ctx, func(t *tx) error {
		n, stage, err := t.experimentStage(id)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.ErrExperimentNotActive(id, stage)
		}
		_, err = t.exec(`INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`, n, tag.Key, tag.Value)
		return err
	}))
}

// DeleteExperimentTag deletes a tag of an active experiment.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return internalOrNil("delete experiment tag", s.inTx(ctx, func(t *tx) error {
		n, stage, err := t.experimentStage(id)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.ErrExperimentNotActive(id, stage)
		}
		res, err := t.exec(`DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?`, n, key)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("No tag with name: %s in experiment with id %s", key, id)}
		}
		return nil
	}))
}

func internalOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return internal(op, err)
}

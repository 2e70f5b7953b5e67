package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/posml/posml/internal/tracking"
)

// LogInputs records datasets (deduplicated by name and digest, kept per
// experiment) and logged models as inputs of an active run.
func (s *Store) LogInputs(ctx context.Context, runID string, datasets []tracking.DatasetInput, models []tracking.ModelInput) error {
	return internalOrNil("log inputs", s.inTx(ctx, func(t *tx) error {
		r, err := t.activeRun(runID)
		if err != nil {
			return err
		}
		type nd struct{ name, digest string }
		seen := map[nd]bool{}
		for _, in := range datasets {
			k := nd{in.Dataset.Name, in.Dataset.Digest}
			if seen[k] {
				continue
			}
			seen[k] = true
			d := in.Dataset
			var dsID int64
			err := t.queryRow(`SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?`, r.experimentID, d.Name, d.Digest).Scan(&dsID)
			if errors.Is(err, sql.ErrNoRows) {
				err = t.queryRow(`INSERT INTO datasets (experiment_id, name, digest, source_type, source, dataset_schema, profile)
					VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.experimentID, d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile).Scan(&dsID)
			}
			if err != nil {
				return err
			}
			var inputID int64
			err = t.queryRow(`SELECT id FROM dataset_inputs WHERE run_id = ? AND dataset_id = ?`, r.id, dsID).Scan(&inputID)
			if err == nil {
				continue // already an input of the run: keep its tags
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err := t.queryRow(`INSERT INTO dataset_inputs (run_id, dataset_id) VALUES (?, ?) RETURNING id`, r.id, dsID).Scan(&inputID); err != nil {
				return err
			}
			for _, tg := range dedupeTags(in.Tags) {
				if _, err := t.exec(`INSERT INTO dataset_input_tags (input_id, key, value) VALUES (?, ?, ?)`, inputID, tg.Key, tg.Value); err != nil {
					return err
				}
			}
		}
		for _, m := range models {
			if _, err := t.exec(`INSERT INTO model_inputs (run_id, model_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, r.id, m.ModelID); err != nil {
				return err
			}
		}
		return nil
	}))
}

// LogOutputs records logged models as outputs of an active run.
func (s *Store) LogOutputs(ctx context.Context, runID string, models []tracking.ModelOutput) error {
	return internalOrNil("log outputs", s.inTx(ctx, func(t *tx) error {
		r, err := t.activeRun(runID)
		if err != nil {
			return err
		}
		for _, m := range models {
			if _, err := t.exec(`INSERT INTO model_outputs (run_id, model_id, step) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, r.id, m.ModelID, m.Step); err != nil {
				return err
			}
		}
		return nil
	}))
}

// RecordLoggedModel appends model (an MLmodel dict) to the JSON list in the
// run's mlflow.log-model.history tag.
func (s *Store) RecordLoggedModel(ctx context.Context, runID string, model map[string]any) error {
	return internalOrNil("record logged model", s.inTx(ctx, func(t *tx) error {
		r, err := t.activeRun(runID)
		if err != nil {
			return err
		}
		var history []any
		var old string
		err = t.queryRow(`SELECT value FROM tags WHERE run_id = ? AND key = ?`, r.id, tracking.TagLoggedModels).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			_ = json.Unmarshal([]byte(old), &history) // a corrupt history starts over
		}
		history = append(history, model)
		b, err := json.Marshal(history)
		if err != nil {
			return err
		}
		if err := tracking.ValidateTag(tracking.Tag{Key: tracking.TagLoggedModels, Value: string(b)}); err != nil {
			return err
		}
		return t.upsertTags(r.id, []tracking.Tag{{Key: tracking.TagLoggedModels, Value: string(b)}})
	}))
}

// loadDatasetInputs fills the dataset inputs of runs; in is "(?, ...)" over
// args, the runs' database IDs, and idx maps those IDs to positions in runs.
func (s *Store) loadDatasetInputs(ctx context.Context, in string, args []any, idx map[int64]int, runs []tracking.Run) error {
	type key struct{ run, input int64 }
	pos := map[key]int{}
	err := s.scanEach(ctx, `SELECT i.run_id, i.id, d.name, d.digest, d.source_type, d.source, d.dataset_schema, d.profile, t.key, t.value
		FROM dataset_inputs i JOIN datasets d ON d.id = i.dataset_id
		LEFT JOIN dataset_input_tags t ON t.input_id = i.id
		WHERE i.run_id IN `+in+` ORDER BY i.run_id, i.id, t.key`, args, func(rows *sql.Rows) error {
		var runID, inputID int64
		var d tracking.Dataset
		var tk, tv sql.NullString
		if err := rows.Scan(&runID, &inputID, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile, &tk, &tv); err != nil {
			return err
		}
		r := &runs[idx[runID]]
		k := key{runID, inputID}
		p, ok := pos[k]
		if !ok {
			p = len(r.DatasetInputs)
			pos[k] = p
			r.DatasetInputs = append(r.DatasetInputs, tracking.DatasetInput{Dataset: d})
		}
		if tk.Valid {
			r.DatasetInputs[p].Tags = append(r.DatasetInputs[p].Tags, tracking.Tag{Key: tk.String, Value: tv.String})
		}
		return nil
	})
	return err
}

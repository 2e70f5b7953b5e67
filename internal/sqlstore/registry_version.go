package sqlstore

// Model versions: creation, stages, soft delete, tags and download URIs.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/tracking"
)

// NewModelVersion is what CreateModelVersion needs.
type NewModelVersion struct {
	Name        string
	Source      string
	RunID       string
	RunLink     string
	Description string
	Tags        []registry.Tag
	// ModelID is the logged model the version is registered from (MLflow
	// 3); a models:/<model_id> source implies it.
	ModelID string
}

// CreateModelVersion creates the next version of a registered model, in
// stage None and status READY. Its number is one more than the highest
// number the model ever had, deleted versions included, and is computed in
// the inserting transaction while the model's row is locked, so concurrent
// creations get distinct numbers.
//
// A models:/<model_id> source stores the logged model's artifact location
// as the storage location (and its run as the run when none is given); a
// models:/<name>/<version> source stores that version's download URI.
func (s *Store) CreateModelVersion(ctx context.Context, nv NewModelVersion) (registry.ModelVersion, error) {
	if err := registry.ValidateModelName(nv.Name); err != nil {
		return registry.ModelVersion{}, err
	}
	for _, t := range nv.Tags {
		if err := registry.ValidateModelVersionTag(t); err != nil {
			return registry.ModelVersion{}, err
		}
	}
	tags := dedupeRegistryTags(nv.Tags)
	var mv registry.ModelVersion
	err := s.inTx(ctx, func(t *tx) error {
		storage, runID, modelID := "", nv.RunID, nv.ModelID
		if registry.Scheme(nv.Source) == "models" {
			var err error
			storage, runID, modelID, err = t.regResolveModelsSource(nv.Source, runID, modelID)
			if err != nil {
				return err
			}
		}
		now := s.nowMillis()
		m, err := t.regTouchModel(nv.Name, now)
		if err != nil {
			return err
		}
		var version int64
		if err := t.queryRow(`SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?`, m.id).Scan(&version); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO model_versions (model_id, version, creation_time, last_updated_time, description, current_stage,
			source, storage_location, run_id, run_link, status, logged_model_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.id, version, now, now, nv.Description, string(registry.StageNone), nv.Source, storage, runID, nv.RunLink,
			registry.StatusReady, modelID); err != nil {
			return err
		}
		for _, tg := range tags {
			if _, err := t.exec(`INSERT INTO model_version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)`, m.id, version, tg.Key, tg.Value); err != nil {
				return err
			}
		}
		if modelID != "" {
			if err := t.regLinkLoggedModel(modelID, m.name, version, now); err != nil {
				return err
			}
		}
		details := map[string]any{"source": nv.Source, "run_id": runID}
		if modelID != "" {
			details["model_id"] = modelID
		}
		if len(tags) > 0 {
			details["tags"] = tagsDetail(tags)
		}
		if err := t.regEvent(m, version, registry.ActionVersionCreated, details, now); err != nil {
			return err
		}
		mv, err = s.modelVersion(t, m, version)
		return err
	})
	return mv, internal("create model version", err)
}

// regResolveModelsSource resolves a models:/ source to a storage location,
// as MLflow's create_model_version does.
func (t *tx) regResolveModelsSource(source, runID, modelID string) (storage, run, model string, err error) {
	u, err := registry.ParseModelsURI(source)
	if err != nil {
		return "", "", "", err
	}
	fail := func(cause string) (string, string, string, error) {
		return "", "", "", posml.Errorf(posml.KindInvalid, fmt.Sprintf(
			"Unable to fetch model from model URI source artifact location '%s'.Error: %s", source, cause))
	}
	switch {
	case u.ModelID != "":
		var loc, srcRun, stage string
		err := t.queryRow(`SELECT artifact_location, source_run_id, lifecycle_stage FROM logged_models WHERE model_id = ?`, u.ModelID).Scan(&loc, &srcRun, &stage)
		if errors.Is(err, sql.ErrNoRows) || err == nil && stage == string(tracking.StageDeleted) {
			return fail("Logged model with ID '" + u.ModelID + "' not found.")
		}
		if err != nil {
			return "", "", "", err
		}
		if runID == "" {
			runID = srcRun
		}
		if modelID == "" {
			modelID = u.ModelID
		}
		return loc, runID, modelID, nil
	case u.Version != "":
		n, err := registry.ParseVersion(u.Version)
		if err != nil {
			return fail(err.Error())
		}
		v, err := regLiveVersion(t, u.Name, n)
		if posml.KindOf(err) == posml.KindNotFound || posml.KindOf(err) == posml.KindInvalid {
			return fail(err.Error())
		}
		if err != nil {
			return "", "", "", err
		}
		mv, err := loadVersions(t, []versionKey{{v.model.id, n}})
		if err != nil {
			return "", "", "", err
		}
		uri, err := downloadURI(t, mv[0])
		return uri, runID, modelID, err
	default:
		return fail("a models:/ source must name a version (models:/<name>/<version>) or a logged model (models:/<model_id>)")
	}
}

// regLinkLoggedModel adds {name, version} to the mlflow.modelVersions tag
// of a logged model, as MLflow's server does after registering a version
// from it. A logged model that does not exist is left alone.
func (t *tx) regLinkLoggedModel(modelID, name string, version, now int64) error {
	var exists int
	err := t.queryRow(`SELECT COUNT(*) FROM logged_models WHERE model_id = ?`, modelID).Scan(&exists)
	if err != nil || exists == 0 {
		return err
	}
	var cur string
	err = t.queryRow(`SELECT value FROM logged_model_tags WHERE model_id = ? AND key = ?`, modelID, registry.TagModelVersions).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	type ref struct {
		Name    string `json:"name"`
		Version any    `json:"version"`
	}
	var refs []ref
	if cur != "" {
		_ = json.Unmarshal([]byte(cur), &refs) // a malformed tag is replaced
	}
	for _, r := range refs {
		if r.Name == name && fmt.Sprint(r.Version) == strconv.FormatInt(version, 10) {
			return nil
		}
	}
	refs = append(refs, ref{Name: name, Version: version})
	// Python's json.dumps spacing, as MLflow writes the tag.
	val := "["
	for i, r := range refs {
		if i > 0 {
			val += ", "
		}
		n, _ := json.Marshal(r.Name)
		v, _ := json.Marshal(r.Version)
		val += `{"name": ` + string(n) + `, "version": ` + string(v) + `}`
	}
	val += "]"
	if _, err := t.exec(`INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?)
		ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, modelID, registry.TagModelVersions, val); err != nil {
		return err
	}
	_, err = t.exec(`UPDATE logged_models SET last_updated_timestamp_ms = ? WHERE model_id = ?`, now, modelID)
	return err
}

// GetModelVersion returns a version that is not deleted.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (registry.ModelVersion, error) {
	r := s.pool(ctx)
	v, err := regLiveVersion(r, name, version)
	if err != nil {
		return registry.ModelVersion{}, internal("get model version", err)
	}
	mv, err := s.modelVersion(r, v.model, version)
	return mv, internal("get model version", err)
}

// UpdateModelVersion sets the description of a version.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (registry.ModelVersion, error) {
	var mv registry.ModelVersion
	err := s.inTx(ctx, func(t *tx) error {
		v, err := regLiveVersion(t, name, version)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		if _, err := t.exec(`UPDATE model_versions SET description = ?, last_updated_time = ? WHERE model_id = ? AND version = ?`,
			description, now, v.model.id, version); err != nil {
			return err
		}
		if err := t.regEvent(v.model, version, registry.ActionVersionUpdated, map[string]any{"description": description}, now); err != nil {
			return err
		}
		mv, err = s.modelVersion(t, v.model, version)
		return err
	})
	return mv, internal("update model version", err)
}

// TransitionModelVersionStage moves a version to a stage (matched without
// regard to case). With archiveExisting, which only Staging and Production
// allow, the other versions in that stage move to Archived in the same
// transaction.
func (s *Store) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (registry.ModelVersion, error) {
	target, err := registry.ParseStage(stage)
	if err != nil {
		return registry.ModelVersion{}, err
	}
	if archiveExisting && !target.IsActive() {
		return registry.ModelVersion{}, registry.ErrArchiveInactive(stage)
	}
	var mv registry.ModelVersion
	err = s.inTx(ctx, func(t *tx) error {
		v, err := regLiveVersion(t, name, version)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		var archived []int64
		if archiveExisting {
			if err := t.regEach(`SELECT version FROM model_versions WHERE model_id = ? AND version <> ? AND current_stage = ? ORDER BY version`,
				[]any{v.model.id, version, string(target)}, func(rows *sql.Rows) error {
					var n int64
					err := rows.Scan(&n)
					archived = append(archived, n)
					return err
				}); err != nil {
				return err
			}
			for _, n := range archived {
				if _, err := t.exec(`UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE model_id = ? AND version = ?`,
					string(registry.StageArchived), now, v.model.id, n); err != nil {
					return err
				}
				if err := t.regEvent(v.model, n, registry.ActionVersionStage, map[string]any{
					"from": string(target), "to": string(registry.StageArchived), "archived_by_version": version}, now); err != nil {
					return err
				}
			}
		}
		if _, err := t.exec(`UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE model_id = ? AND version = ?`,
			string(target), now, v.model.id, version); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE registered_models SET last_updated_time = ? WHERE id = ?`, now, v.model.id); err != nil {
			return err
		}
		details := map[string]any{"from": string(v.stage), "to": string(target), "archive_existing_versions": archiveExisting}
		if len(archived) > 0 {
			details["archived_versions"] = archived
		}
		if err := t.regEvent(v.model, version, registry.ActionVersionStage, details, now); err != nil {
			return err
		}
		mv, err = s.modelVersion(t, v.model, version)
		return err
	})
	return mv, internal("transition model version stage", err)
}

// DeleteModelVersion soft-deletes a version: it moves to Deleted_Internal,
// its source, run and description are redacted and its aliases removed. Its
// number is never reused.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	return internal("delete model version", s.inTx(ctx, func(t *tx) error {
		v, err := regLiveVersion(t, name, version)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		var aliases []string
		if err := t.regEach(`SELECT alias FROM registered_model_aliases WHERE model_id = ? AND version = ? ORDER BY alias`,
			[]any{v.model.id, version}, func(rows *sql.Rows) error {
				var a string
				err := rows.Scan(&a)
				aliases = append(aliases, a)
				return err
			}); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM registered_model_aliases WHERE model_id = ? AND version = ?`, v.model.id, version); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE registered_models SET last_updated_time = ? WHERE id = ?`, now, v.model.id); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = '', user_id = '',
			source = ?, storage_location = '', run_id = ?, run_link = ?, status_message = '' WHERE model_id = ? AND version = ?`,
			string(registry.StageDeletedInternal), now, registry.RedactedSource, registry.RedactedRunID, registry.RedactedRunLink,
			v.model.id, version); err != nil {
			return err
		}
		details := map[string]any{"stage": string(v.stage)}
		if len(aliases) > 0 {
			details["aliases_removed"] = aliases
		}
		return t.regEvent(v.model, version, registry.ActionVersionDeleted, details, now)
	}))
}

// GetModelVersionDownloadURI returns where a version's artifacts are: its
// storage location, else its source, with a runs:/<run>/<path> source
// resolved to the run's artifact URI joined with the path.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	mv, err := s.GetModelVersion(ctx, name, version)
	if err != nil {
		return "", err
	}
	uri, err := downloadURI(s.pool(ctx), mv)
	return uri, internal("get model version download uri", err)
}

// downloadURI is the download URI of mv, with a runs:/ source resolved
// through the run's artifact URI; a run that does not exist leaves the
// source as it is.
func downloadURI(r regReader, mv registry.ModelVersion) (string, error) {
	uri := mv.DownloadURI()
	runID, p, ok := registry.ParseRunsURI(uri)
	if !ok || mv.StorageLocation != "" {
		return uri, nil
	}
	var base string
	err := r.regRow(`SELECT artifact_uri FROM runs WHERE run_uuid = ?`, runID).Scan(&base)
	switch {
	case err == nil:
		return registry.JoinURI(base, p), nil
	case errors.Is(err, sql.ErrNoRows):
		return uri, nil
	}
	return "", err
}

// SetModelVersionTag sets (upserts) a tag of a version.
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, tag registry.Tag) error {
	if err := registry.ValidateModelVersionTag(tag); err != nil {
		return err
	}
	return internal("set model version tag", s.inTx(ctx, func(t *tx) error {
		v, err := regLiveVersion(t, name, version)
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO model_version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`, v.model.id, version, tag.Key, tag.Value); err != nil {
			return err
		}
		return t.regEvent(v.model, version, registry.ActionVersionTagSet, map[string]any{"key": tag.Key, "value": tag.Value}, s.nowMillis())
	}))
}

// DeleteModelVersionTag deletes a tag of a version; a missing tag is not an
// error, as in MLflow.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	if err := registry.ValidateTagKey(key); err != nil {
		return err
	}
	return internal("delete model version tag", s.inTx(ctx, func(t *tx) error {
		v, err := regLiveVersion(t, name, version)
		if err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM model_version_tags WHERE model_id = ? AND version = ? AND key = ?`, v.model.id, version, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return t.regEvent(v.model, version, registry.ActionVersionTagDeleted, map[string]any{"key": key}, s.nowMillis())
	}))
}

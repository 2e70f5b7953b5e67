package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/posml/posml/internal/registry"
)

// The model registry: registered models, versions, tags, aliases and the
// event history. Every change runs in one transaction together with the
// event that records it; what a write method returns is read back inside
// that transaction.

// regReader runs read queries either inside a write transaction, to read its
// own writes, or on the read pool.
type regReader interface {
	regEach(q string, args []any, f func(*sql.Rows) error) error
	regRow(q string, args ...any) *sql.Row
}

func (t *tx) regEach(q string, args []any, f func(*sql.Rows) error) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t *tx) regRow(q string, args ...any) *sql.Row { return t.queryRow(q, args...) }

// poolReader reads on the read pool.
type poolReader struct {
	s   *Store
	ctx context.Context
}

func (p poolReader) regEach(q string, args []any, f func(*sql.Rows) error) error {
	return p.s.scanEach(p.ctx, q, args, f)
}

func (p poolReader) regRow(q string, args ...any) *sql.Row { return p.s.readRow(p.ctx, q, args...) }

func (s *Store) pool(ctx context.Context) poolReader { return poolReader{s: s, ctx: ctx} }

// modelRef is a registered model as a write transaction sees it.
type modelRef struct {
	id   int64
	name string
}

// regModel looks a registered model up by name.
func regModel(r regReader, name string) (modelRef, error) {
	if err := registry.ValidateModelName(name); err != nil {
		return modelRef{}, err
	}
	m := modelRef{name: name}
	err := r.regRow(`SELECT id FROM registered_models WHERE name = ?`, name).Scan(&m.id)
	if errors.Is(err, sql.ErrNoRows) {
		return m, registry.ErrModelNotFound(name)
	}
	return m, err
}

// regTouchModel sets a model's last update time and returns it. The update
// also locks the model's row until the transaction ends (PostgreSQL), which
// serializes concurrent version creation.
func (t *tx) regTouchModel(name string, now int64) (modelRef, error) {
	if err := registry.ValidateModelName(name); err != nil {
		return modelRef{}, err
	}
	m := modelRef{name: name}
	err := t.queryRow(`UPDATE registered_models SET last_updated_time = ? WHERE name = ? RETURNING id`, now, name).Scan(&m.id)
	if errors.Is(err, sql.ErrNoRows) {
		return m, registry.ErrModelNotFound(name)
	}
	return m, err
}

// versionRef is a live (not deleted) model version.
type versionRef struct {
	model   modelRef
	version int64
	stage   registry.Stage
}

// regLiveVersion looks up a version that is not deleted.
func regLiveVersion(r regReader, name string, version int64) (versionRef, error) {
	if err := registry.ValidateModelName(name); err != nil {
		return versionRef{}, err
	}
	v := versionRef{model: modelRef{name: name}, version: version}
	var stage string
	err := r.regRow(`SELECT v.model_id, v.current_stage FROM model_versions v JOIN registered_models m ON m.id = v.model_id
		WHERE m.name = ? AND v.version = ? AND v.current_stage <> ?`, name, version, string(registry.StageDeletedInternal)).Scan(&v.model.id, &stage)
	if errors.Is(err, sql.ErrNoRows) {
		return v, registry.ErrVersionNotFound(name, version)
	}
	v.stage = registry.Stage(stage)
	return v, err
}

// regEvent records a registry change, attributed to the actor of the
// request (registry.WithActor).
func (t *tx) regEvent(m modelRef, version int64, action registry.Action, details map[string]any, now int64) error {
	actor, _ := registry.ActorFrom(t.ctx)
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO registry_events (model_id, model_name, version, action, user_id, pipeline_run_id, event_time, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.id, m.name, version, string(action), actor.UserID, actor.PipelineRunID, now, string(b))
	return err
}

// dedupeRegistryTags keeps the last value of each key, in first-seen order.
func dedupeRegistryTags(tags []registry.Tag) []registry.Tag {
	idx := make(map[string]int, len(tags))
	var out []registry.Tag
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

func tagsDetail(tags []registry.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// CreateRegisteredModel creates a registered model without versions.
func (s *Store) CreateRegisteredModel(ctx context.Context, name string, tags []registry.Tag, description string) (registry.RegisteredModel, error) {
	if err := registry.ValidateModelName(name); err != nil {
		return registry.RegisteredModel{}, err
	}
	for _, t := range tags {
		if err := registry.ValidateRegisteredModelTag(t); err != nil {
			return registry.RegisteredModel{}, err
		}
	}
	tags = dedupeRegistryTags(tags)
	var rm registry.RegisteredModel
	err := s.inTx(ctx, func(t *tx) error {
		now := s.nowMillis()
		m := modelRef{name: name}
		err := t.queryRow(`INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?) RETURNING id`,
			name, now, now, description).Scan(&m.id)
		if isUniqueViolation(err) {
			return registry.ErrModelExists(name)
		}
		if err != nil {
			return err
		}
		for _, tg := range tags {
			if _, err := t.exec(`INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)`, m.id, tg.Key, tg.Value); err != nil {
				return err
			}
		}
		details := map[string]any{"description": description}
		if len(tags) > 0 {
			details["tags"] = tagsDetail(tags)
		}
		if err := t.regEvent(m, 0, registry.ActionModelCreated, details, now); err != nil {
			return err
		}
		rm, err = s.registeredModel(t, m)
		return err
	})
	return rm, internal("create registered model", err)
}

// GetRegisteredModel returns a registered model with its tags, aliases and
// the latest version in each stage.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (registry.RegisteredModel, error) {
	r := s.pool(ctx)
	m, err := regModel(r, name)
	if err != nil {
		return registry.RegisteredModel{}, internal("get registered model", err)
	}
	rm, err := s.registeredModel(r, m)
	return rm, internal("get registered model", err)
}

// registeredModel reads one registered model with everything it shows.
func (s *Store) registeredModel(r regReader, m modelRef) (registry.RegisteredModel, error) {
	var rm registry.RegisteredModel
	err := r.regRow(`SELECT `+modelCols+` FROM registered_models m WHERE m.id = ?`, m.id).
		Scan(&m.id, &rm.Name, &rm.CreationTimestamp, &rm.LastUpdatedTimestamp, &rm.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return rm, registry.ErrModelNotFound(m.name)
	}
	if err != nil {
		return rm, err
	}
	rms := []registry.RegisteredModel{rm}
	if err := loadModelDetails(r, []int64{m.id}, rms); err != nil {
		return rm, err
	}
	return rms[0], nil
}

const modelCols = `m.id, m.name, m.creation_time, m.last_updated_time, m.description`

// loadModelDetails fills tags, aliases and latest versions of rms, whose
// database IDs are ids.
func loadModelDetails(r regReader, ids []int64, rms []registry.RegisteredModel) error {
	idx := make(map[int64]int, len(ids))
	for i, id := range ids {
		idx[id] = i
	}
	for lo := 0; lo < len(ids); lo += 500 {
		chunk := ids[lo:min(lo+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		in := `(` + placeholders(len(chunk)) + `)`
		if err := r.regEach(`SELECT model_id, key, value FROM registered_model_tags WHERE model_id IN `+in+` ORDER BY model_id, key`, args, func(rows *sql.Rows) error {
			var id int64
			var t registry.Tag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			rms[idx[id]].Tags = append(rms[idx[id]].Tags, t)
			return nil
		}); err != nil {
			return err
		}
		if err := r.regEach(`SELECT model_id, alias, version FROM registered_model_aliases WHERE model_id IN `+in+` ORDER BY model_id, alias`, args, func(rows *sql.Rows) error {
			var id int64
			var a registry.Alias
			if err := rows.Scan(&id, &a.Alias, &a.Version); err != nil {
				return err
			}
			rms[idx[id]].Aliases = append(rms[idx[id]].Aliases, a)
			return nil
		}); err != nil {
			return err
		}
		// The latest version of each stage. MLflow lists the stages in the
		// order their lowest version appears.
		type stageSpan struct {
			model      int64
			first, max int64
		}
		var spans []stageSpan
		if err := r.regEach(`SELECT model_id, MIN(version), MAX(version) FROM model_versions
			WHERE model_id IN `+in+` AND current_stage <> ? GROUP BY model_id, current_stage`,
			append(slices.Clone(args), string(registry.StageDeletedInternal)), func(rows *sql.Rows) error {
				var sp stageSpan
				if err := rows.Scan(&sp.model, &sp.first, &sp.max); err != nil {
					return err
				}
				spans = append(spans, sp)
				return nil
			}); err != nil {
			return err
		}
		sort.Slice(spans, func(i, j int) bool {
			if spans[i].model != spans[j].model {
				return spans[i].model < spans[j].model
			}
			return spans[i].first < spans[j].first
		})
		keys := make([]versionKey, len(spans))
		for i, sp := range spans {
			keys[i] = versionKey{sp.model, sp.max}
		}
		mvs, err := loadVersions(r, keys)
		if err != nil {
			return err
		}
		for i, sp := range spans {
			rm := &rms[idx[sp.model]]
			rm.LatestVersions = append(rm.LatestVersions, mvs[i])
		}
	}
	return nil
}

// versionKey identifies a model version by its model's database ID.
type versionKey struct {
	model   int64
	version int64
}

const versionCols = `v.model_id, m.name, v.version, v.creation_time, v.last_updated_time, v.description, v.user_id, v.current_stage,
	v.source, v.storage_location, v.run_id, v.run_link, v.status, v.status_message, v.logged_model_id`

func scanVersion(rows interface{ Scan(...any) error }) (versionKey, registry.ModelVersion, error) {
	var k versionKey
	var mv registry.ModelVersion
	var stage string
	err := rows.Scan(&k.model, &mv.Name, &mv.Version, &mv.CreationTimestamp, &mv.LastUpdatedTimestamp, &mv.Description, &mv.UserID,
		&stage, &mv.Source, &mv.StorageLocation, &mv.RunID, &mv.RunLink, &mv.Status, &mv.StatusMessage, &mv.ModelID)
	k.version = mv.Version
	mv.CurrentStage = registry.Stage(stage)
	return k, mv, err
}

// loadVersions reads the versions keys name, in that order, with their tags
// and aliases.
func loadVersions(r regReader, keys []versionKey) ([]registry.ModelVersion, error) {
	out := make([]registry.ModelVersion, len(keys))
	pos := versionPositions(keys)
	found := 0
	err := eachVersionChunk(keys, func(cond string, args []any) error {
		return r.regEach(`SELECT `+versionCols+` FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE `+cond, args, func(rows *sql.Rows) error {
			k, mv, err := scanVersion(rows)
			if err != nil {
				return err
			}
			if i, ok := pos[k]; ok {
				out[i] = mv
				found++
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if found != len(keys) {
		return nil, fmt.Errorf("load model versions: %d of %d found", found, len(keys))
	}
	return out, fillVersionTagsAliases(r, keys, out)
}

func versionPositions(keys []versionKey) map[versionKey]int {
	pos := make(map[versionKey]int, len(keys))
	for i, k := range keys {
		pos[k] = i
	}
	return pos
}

// fillVersionTagsAliases fills tags and aliases of mvs, whose keys are keys.
func fillVersionTagsAliases(r regReader, keys []versionKey, mvs []registry.ModelVersion) error {
	pos := versionPositions(keys)
	return eachVersionChunk(keys, func(cond string, args []any) error {
		return loadVersionTagsAliases(r, cond, args, pos, mvs)
	})
}

// eachVersionChunk calls f with a condition on v.model_id and v.version
// that selects a superset of each chunk of keys; callers match exact keys.
func eachVersionChunk(keys []versionKey, f func(cond string, args []any) error) error {
	for lo := 0; lo < len(keys); lo += 500 {
		chunk := keys[lo:min(lo+500, len(keys))]
		models := map[int64]bool{}
		versions := map[int64]bool{}
		var margs, vargs []any
		for _, k := range chunk {
			if !models[k.model] {
				models[k.model] = true
				margs = append(margs, k.model)
			}
			if !versions[k.version] {
				versions[k.version] = true
				vargs = append(vargs, k.version)
			}
		}
		cond := `v.model_id IN (` + placeholders(len(margs)) + `) AND v.version IN (` + placeholders(len(vargs)) + `)`
		if err := f(cond, append(margs, vargs...)); err != nil {
			return err
		}
	}
	return nil
}

// loadVersionTagsAliases fills tags and aliases of the versions in out
// selected by cond (on v.model_id and v.version).
func loadVersionTagsAliases(r regReader, cond string, args []any, pos map[versionKey]int, out []registry.ModelVersion) error {
	if err := r.regEach(`SELECT v.model_id, v.version, v.key, v.value FROM model_version_tags v WHERE `+cond+` ORDER BY v.model_id, v.version, v.key`, args, func(rows *sql.Rows) error {
		var k versionKey
		var t registry.Tag
		if err := rows.Scan(&k.model, &k.version, &t.Key, &t.Value); err != nil {
			return err
		}
		if i, ok := pos[k]; ok {
			out[i].Tags = append(out[i].Tags, t)
		}
		return nil
	}); err != nil {
		return err
	}
	return r.regEach(`SELECT v.model_id, v.version, v.alias FROM registered_model_aliases v WHERE `+cond+` ORDER BY v.model_id, v.alias`, args, func(rows *sql.Rows) error {
		var k versionKey
		var a string
		if err := rows.Scan(&k.model, &k.version, &a); err != nil {
			return err
		}
		if i, ok := pos[k]; ok {
			out[i].Aliases = append(out[i].Aliases, a)
		}
		return nil
	})
}

func (s *Store) modelVersion(r regReader, m modelRef, version int64) (registry.ModelVersion, error) {
	mvs, err := loadVersions(r, []versionKey{{m.id, version}})
	if err != nil {
		return registry.ModelVersion{}, err
	}
	return mvs[0], nil
}

// RenameRegisteredModel renames a registered model; its versions follow.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (registry.RegisteredModel, error) {
	if err := registry.ValidateModelName(newName); err != nil {
		return registry.RegisteredModel{}, err
	}
	var rm registry.RegisteredModel
	err := s.inTx(ctx, func(t *tx) error {
		now := s.nowMillis()
		m, err := t.regTouchModel(name, now)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE registered_models SET name = ? WHERE id = ?`, newName, m.id); err != nil {
			if isUniqueViolation(err) {
				return registry.ErrModelExists(newName)
			}
			return err
		}
		if _, err := t.exec(`UPDATE model_versions SET last_updated_time = ? WHERE model_id = ?`, now, m.id); err != nil {
			return err
		}
		m.name = newName
		if err := t.regEvent(m, 0, registry.ActionModelRenamed, map[string]any{"from": name, "to": newName}, now); err != nil {
			return err
		}
		rm, err = s.registeredModel(t, m)
		return err
	})
	return rm, internal("rename registered model", err)
}

// UpdateRegisteredModel sets the description of a registered model.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (registry.RegisteredModel, error) {
	var rm registry.RegisteredModel
	err := s.inTx(ctx, func(t *tx) error {
		now := s.nowMillis()
		m, err := t.regTouchModel(name, now)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE registered_models SET description = ? WHERE id = ?`, description, m.id); err != nil {
			return err
		}
		if err := t.regEvent(m, 0, registry.ActionModelUpdated, map[string]any{"description": description}, now); err != nil {
			return err
		}
		rm, err = s.registeredModel(t, m)
		return err
	})
	return rm, internal("update registered model", err)
}

// DeleteRegisteredModel deletes a registered model with its versions, tags
// and aliases. Its events stay.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return internal("delete registered model", s.inTx(ctx, func(t *tx) error {
		m, err := regModel(t, name)
		if err != nil {
			return err
		}
		var versions int
		if err := t.queryRow(`SELECT COUNT(*) FROM model_versions WHERE model_id = ? AND current_stage <> ?`, m.id, string(registry.StageDeletedInternal)).Scan(&versions); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM registered_model_aliases WHERE model_id = ?`,
			`DELETE FROM model_version_tags WHERE model_id = ?`,
			`DELETE FROM model_versions WHERE model_id = ?`,
			`DELETE FROM registered_model_tags WHERE model_id = ?`,
			`DELETE FROM registered_models WHERE id = ?`,
		} {
			if _, err := t.exec(q, m.id); err != nil {
				return err
			}
		}
		return t.regEvent(m, 0, registry.ActionModelDeleted, map[string]any{"live_versions": versions}, s.nowMillis())
	}))
}

// GetLatestVersions returns, for each of the stages (all stages when none
// is given), the version with the highest number in that stage. Stages are
// matched without regard to case.
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]registry.ModelVersion, error) {
	r := s.pool(ctx)
	m, err := regModel(r, name)
	if err != nil {
		return nil, internal("get latest versions", err)
	}
	want := map[registry.Stage]bool{}
	for _, st := range stages {
		c, err := registry.ParseStage(st)
		if err != nil {
			return nil, err
		}
		want[c] = true
	}
	rm, err := s.registeredModel(r, m)
	if err != nil {
		return nil, internal("get latest versions", err)
	}
	var out []registry.ModelVersion
	for _, mv := range rm.LatestVersions {
		if len(want) == 0 || want[mv.CurrentStage] {
			out = append(out, mv)
		}
	}
	return out, nil
}

// SetRegisteredModelTag sets (upserts) a tag of a registered model.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag registry.Tag) error {
	if err := registry.ValidateModelName(name); err != nil {
		return err
	}
	if err := registry.ValidateRegisteredModelTag(tag); err != nil {
		return err
	}
	return internal("set registered model tag", s.inTx(ctx, func(t *tx) error {
		m, err := regModel(t, name)
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, m.id, tag.Key, tag.Value); err != nil {
			return err
		}
		return t.regEvent(m, 0, registry.ActionModelTagSet, map[string]any{"key": tag.Key, "value": tag.Value}, s.nowMillis())
	}))
}

// DeleteRegisteredModelTag deletes a tag of a registered model; a missing
// tag is not an error, as in MLflow.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	if err := registry.ValidateModelName(name); err != nil {
		return err
	}
	if err := registry.ValidateTagKey(key); err != nil {
		return err
	}
	return internal("delete registered model tag", s.inTx(ctx, func(t *tx) error {
		m, err := regModel(t, name)
		if err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM registered_model_tags WHERE model_id = ? AND key = ?`, m.id, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return t.regEvent(m, 0, registry.ActionModelTagDeleted, map[string]any{"key": key}, s.nowMillis())
	}))
}

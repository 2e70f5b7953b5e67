package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
)

// Lineage: which project owns a tracking resource (project_resources), and
// what each pipeline run produced (run_outputs).

// ClaimResource records that c.ProjectID owns the resource c names unless
// another project claimed it first, and returns the owner: c.ProjectID, or
// the project that claimed it before.
func (s *Store) ClaimResource(ctx context.Context, c lineage.Claim) (pipeline.ProjectID, error) {
	at := c.ClaimedAt
	if at.IsZero() {
		at = s.now()
	}
	var owner int64
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(`INSERT INTO project_resources (kind, name, project_id, claimed_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, name) DO NOTHING`, string(c.Kind), c.Name, int64(c.ProjectID), at.UnixMilli()); err != nil {
			return err
		}
		return t.queryRow(`SELECT project_id FROM project_resources WHERE kind = ? AND name = ?`, string(c.Kind), c.Name).Scan(&owner)
	})
	return pipeline.ProjectID(owner), internal("claim resource", err)
}

// ResourceOwner returns the project that claimed a resource, or
// posml.ErrNotFound when none did.
func (s *Store) ResourceOwner(ctx context.Context, kind lineage.ResourceKind, name string) (pipeline.ProjectID, error) {
	var owner int64
	err := s.readRow(ctx, `SELECT project_id FROM project_resources WHERE kind = ? AND name = ?`, string(kind), name).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, posml.Errorf(posml.KindNotFound, "no project owns "+string(kind)+" "+name)
	}
	return pipeline.ProjectID(owner), internal("resource owner", err)
}

// ProjectResources lists what a project has claimed, by kind and name.
func (s *Store) ProjectResources(ctx context.Context, project pipeline.ProjectID) ([]lineage.Claim, error) {
	var out []lineage.Claim
	err := s.scanEach(ctx, `SELECT kind, name, claimed_at FROM project_resources WHERE project_id = ? ORDER BY kind, name`,
		[]any{int64(project)}, func(rows *sql.Rows) error {
			c := lineage.Claim{ProjectID: project}
			var kind string
			var at int64
			if err := rows.Scan(&kind, &c.Name, &at); err != nil {
				return err
			}
			c.Kind, c.ClaimedAt = lineage.ResourceKind(kind), time.UnixMilli(at).UTC()
			out = append(out, c)
			return nil
		})
	return out, err
}

// AddRunOutput records that a pipeline run produced an MLflow run or a
// model version; recording the same output twice is a no-op. An unknown
// pipeline run is posml.ErrNotFound.
func (s *Store) AddRunOutput(ctx context.Context, o pipeline.Output) error {
	at := o.CreatedAt
	if at.IsZero() {
		at = s.now()
	}
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO run_outputs (run_id, mlflow_run_id, model_name, model_version, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (run_id, mlflow_run_id, model_name, model_version) DO NOTHING`,
			int64(o.RunID), o.MLflowRunID, o.ModelName, o.ModelVersion, at.UnixMilli())
		return err
	})
	if isForeignKeyViolation(err) {
		return runNotFound(o.RunID)
	}
	return internal("add run output", err)
}

// RunOutputs lists what a pipeline run produced, oldest first.
func (s *Store) RunOutputs(ctx context.Context, run pipeline.RunID) ([]pipeline.Output, error) {
	var out []pipeline.Output
	err := s.scanEach(ctx, `SELECT mlflow_run_id, model_name, model_version, created_at FROM run_outputs WHERE run_id = ? ORDER BY id`,
		[]any{int64(run)}, func(rows *sql.Rows) error {
			o := pipeline.Output{RunID: run}
			var at int64
			if err := rows.Scan(&o.MLflowRunID, &o.ModelName, &o.ModelVersion, &at); err != nil {
				return err
			}
			o.CreatedAt = time.UnixMilli(at).UTC()
			out = append(out, o)
			return nil
		})
	return out, err
}

// PipelineRunOf returns the pipeline run that created an MLflow run, or
// posml.ErrNotFound.
func (s *Store) PipelineRunOf(ctx context.Context, mlflowRunID string) (pipeline.RunID, error) {
	var run int64
	err := s.readRow(ctx, `SELECT run_id FROM run_outputs WHERE mlflow_run_id = ? AND model_name = '' ORDER BY id LIMIT 1`, mlflowRunID).Scan(&run)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, posml.Errorf(posml.KindNotFound, "no pipeline run created MLflow run "+mlflowRunID)
	}
	return pipeline.RunID(run), internal("pipeline run of", err)
}

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

// Run tokens: a pipeline run's credential on the tracking server. Only the
// hash of a token is stored (package auth makes and hashes them).

// CreateRunToken stores the hash of a new token of c's pipeline run, valid
// until c.ExpiresAt.
func (s *Store) CreateRunToken(ctx context.Context, hash string, c lineage.Caller) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO run_tokens (token_hash, project_id, project_name, pipeline_run_id, git_commit, issued_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, hash, int64(c.ProjectID), c.Project, int64(c.PipelineRunID), c.Commit, s.nowMillis(), c.ExpiresAt.UnixMilli())
		return err
	})
	return internal("create run token", err)
}

// RunTokenCaller returns the caller a token hash stands for, expired or not
// (the caller checks ExpiresAt), or posml.ErrNotFound.
func (s *Store) RunTokenCaller(ctx context.Context, hash string) (lineage.Caller, error) {
	var c lineage.Caller
	var project, run, exp int64
	err := s.readRow(ctx, `SELECT project_id, project_name, pipeline_run_id, git_commit, expires_at FROM run_tokens WHERE token_hash = ?`, hash).
		Scan(&project, &c.Project, &run, &c.Commit, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return c, posml.Errorf(posml.KindNotFound, "unknown run token")
	}
	if err != nil {
		return c, internal("run token", err)
	}
	c.ProjectID, c.PipelineRunID, c.ExpiresAt = pipeline.ProjectID(project), pipeline.RunID(run), time.UnixMilli(exp).UTC()
	return c, nil
}

// ExpireRunTokens makes the tokens of a pipeline run expire at the latest
// at `at` (the end of the run plus a grace period).
func (s *Store) ExpireRunTokens(ctx context.Context, run pipeline.RunID, at time.Time) error {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`UPDATE run_tokens SET expires_at = ? WHERE pipeline_run_id = ? AND expires_at > ?`, at.UnixMilli(), int64(run), at.UnixMilli())
		return err
	})
	return internal("expire run tokens", err)
}

// DeleteExpiredRunTokens deletes the tokens that expired before `before`
// and returns how many.
func (s *Store) DeleteExpiredRunTokens(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`DELETE FROM run_tokens WHERE expires_at < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, internal("delete expired run tokens", err)
}

package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
)

// Promotion decisions: one row per registered model and successful train
// run, written by package promotion.

// AddPromotionDecision stores a decision and returns it with its ID (and its
// time, when d has none).
func (s *Store) AddPromotionDecision(ctx context.Context, d lineage.Decision) (lineage.Decision, error) {
	if d.DecidedAt.IsZero() {
		d.DecidedAt = s.now()
	}
	err := s.inTx(ctx, func(t *tx) error {
		return t.queryRow(`INSERT INTO promotion_decisions (project_id, pipeline_run_id, model_name, metric, direction,
			candidate_run_id, candidate_value, champion_version, champion_run_id, champion_value,
			outcome, reason, new_version, alias_moved, decided_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			int64(d.ProjectID), int64(d.PipelineRunID), d.ModelName, d.Metric, d.Direction,
			d.CandidateRunID, nullFloat(d.CandidateValue), d.ChampionVersion, d.ChampionRunID, nullFloat(d.ChampionValue),
			string(d.Outcome), d.Reason, d.NewVersion, boolInt(d.AliasMoved), d.DecidedAt.UnixMilli()).Scan(&d.ID)
	})
	return d, internal("add promotion decision", err)
}

// PromotionDecisionsOfRun lists the decisions made after a pipeline run, in
// the order they were made.
func (s *Store) PromotionDecisionsOfRun(ctx context.Context, run pipeline.RunID) ([]lineage.Decision, error) {
	return s.promotionDecisions(ctx, `WHERE pipeline_run_id = ? ORDER BY id`, int64(run))
}

// PromotionDecisionsOfProject lists a project's decisions, newest first; at
// most limit of them when limit > 0.
func (s *Store) PromotionDecisionsOfProject(ctx context.Context, project pipeline.ProjectID, limit int) ([]lineage.Decision, error) {
	if limit <= 0 {
		return s.promotionDecisions(ctx, `WHERE project_id = ? ORDER BY id DESC`, int64(project))
	}
	return s.promotionDecisions(ctx, `WHERE project_id = ? ORDER BY id DESC LIMIT ?`, int64(project), limit)
}

// PromotionDecisionsOfModel lists the decisions about registered model
// name, newest first, at most limit of them (all when limit <= 0): the
// champion history with both scores of every promotion and hold.
func (s *Store) PromotionDecisionsOfModel(ctx context.Context, name string, limit int) ([]lineage.Decision, error) {
	if limit <= 0 {
		return s.promotionDecisions(ctx, `WHERE model_name = ? ORDER BY id DESC`, name)
	}
	return s.promotionDecisions(ctx, `WHERE model_name = ? ORDER BY id DESC LIMIT ?`, name, limit)
}

func (s *Store) promotionDecisions(ctx context.Context, where string, args ...any) ([]lineage.Decision, error) {
	var out []lineage.Decision
	err := s.scanEach(ctx, `SELECT id, project_id, pipeline_run_id, model_name, metric, direction,
		candidate_run_id, candidate_value, champion_version, champion_run_id, champion_value,
		outcome, reason, new_version, alias_moved, decided_at FROM promotion_decisions `+where, args,
		func(rows *sql.Rows) error {
			var d lineage.Decision
			var project, run, at, moved int64
			var outcome string
			var cand, champ sql.NullFloat64
			if err := rows.Scan(&d.ID, &project, &run, &d.ModelName, &d.Metric, &d.Direction,
				&d.CandidateRunID, &cand, &d.ChampionVersion, &d.ChampionRunID, &champ,
				&outcome, &d.Reason, &d.NewVersion, &moved, &at); err != nil {
				return err
			}
			d.ProjectID, d.PipelineRunID, d.Outcome = pipeline.ProjectID(project), pipeline.RunID(run), lineage.Outcome(outcome)
			d.CandidateValue, d.ChampionValue = floatPtr(cand), floatPtr(champ)
			d.AliasMoved, d.DecidedAt = moved != 0, time.UnixMilli(at).UTC()
			out = append(out, d)
			return nil
		})
	return out, err
}

func nullFloat(p *float64) sql.NullFloat64 {
	if p == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *p, Valid: true}
}

func floatPtr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.Float64
	return &v
}

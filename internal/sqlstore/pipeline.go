package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

const scheduleCols = `project_id, kind, commit_sha, expr, time_zone, start_at, mode, catchup, max_active_runs, next_fire_at, last_start, last_end`

func scanSchedule(sc interface{ Scan(...any) error }) (pipeline.Schedule, error) {
	var p pipeline.Schedule
	var kind string
	var start int64
	var catchup int
	var next, lastStart, lastEnd sql.NullInt64
	if err := sc.Scan(&p.ProjectID, &kind, &p.Commit, &p.Spec.Expr, &p.Spec.TimeZone, &start, &p.Spec.Mode, &catchup,
		&p.MaxActiveRuns, &next, &lastStart, &lastEnd); err != nil {
		return p, err
	}
	p.Pipeline = pipeline.Kind(kind)
	p.Spec.Start = timeOfMillis(start)
	p.Spec.Catchup = catchup != 0
	p.NextFireAt = timeOfNull(next)
	if lastStart.Valid && lastEnd.Valid {
		p.Last = &pipeline.Interval{Start: timeOfNull(lastStart), End: timeOfNull(lastEnd)}
	}
	return p, nil
}

// DueSchedules returns up to limit pipelines whose NextFireAt is at or
// before now, earliest first. It reads only due rows (an index on
// next_fire_at), whatever the number of projects.
func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int) ([]pipeline.Schedule, error) {
	rows, err := s.readQuery(ctx, `SELECT `+scheduleCols+` FROM pipelines
		WHERE next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY next_fire_at LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, internal("due schedules", err)
	}
	defer rows.Close()
	var out []pipeline.Schedule
	for rows.Next() {
		p, err := scanSchedule(rows)
		if err != nil {
			return nil, internal("due schedules", err)
		}
		out = append(out, p)
	}
	return out, internal("due schedules", rows.Err())
}

// NextDue returns the earliest pending NextFireAt of all pipelines, or the
// zero time when none is pending. The scheduler sleeps until then.
func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var n sql.NullInt64
	err := s.readRow(ctx, `SELECT MIN(next_fire_at) FROM pipelines WHERE next_fire_at IS NOT NULL`).Scan(&n)
	return timeOfNull(n), internal("next due", err)
}

// Schedules returns the schedules of a project's pipelines (none before a
// commit was activated).
func (s *Store) Schedules(ctx context.Context, id pipeline.ProjectID) ([]pipeline.Schedule, error) {
	rows, err := s.readQuery(ctx, `SELECT `+scheduleCols+` FROM pipelines WHERE project_id = ? ORDER BY kind DESC`, id)
	if err != nil {
		return nil, internal("list schedules", err)
	}
	defer rows.Close()
	var out []pipeline.Schedule
	for rows.Next() {
		p, err := scanSchedule(rows)
		if err != nil {
			return nil, internal("list schedules", err)
		}
		out = append(out, p)
	}
	return out, internal("list schedules", rows.Err())
}

// Reschedule moves a pipeline's NextFireAt from was (as read) to next (zero:
// nothing pending) if nobody changed it meanwhile. It reports whether it
// did.
func (s *Store) Reschedule(ctx context.Context, sc pipeline.Schedule, next time.Time) (bool, error) {
	var ok bool
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE pipelines SET next_fire_at = ?, updated_at = ?
			WHERE project_id = ? AND kind = ? AND commit_sha = ? AND next_fire_at = ?`,
			nullMillis(next), s.nowMillis(), sc.ProjectID, string(sc.Pipeline), sc.Commit, sc.NextFireAt.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, internal("reschedule", err)
}

// FireSchedule claims a due fire and creates its run, atomically: if the
// pipeline's NextFireAt and commit are still those of sc, it becomes next
// (zero: nothing pending), the last scheduled interval becomes
// r.DataInterval, and r is created (queued, cause schedule). ok is false
// when another scheduler claimed the fire first; created is false when a
// run for r's logical date already existed (a backfill made it), in which
// case the schedule still moves on.
func (s *Store) FireSchedule(ctx context.Context, sc pipeline.Schedule, r pipeline.Run, next time.Time) (run pipeline.Run, ok, created bool, err error) {
	out, err := s.FireSchedules(ctx, []pipeline.Fire{{Schedule: sc, Run: r, Next: next}})
	if err != nil {
		return r, false, false, err
	}
	if !out[0].Created {
		return out[0].Run, out[0].Claimed, false, nil
	}
	run, err = s.PipelineRun(ctx, out[0].Run.ID)
	return run, true, true, err
}

// FireSchedules applies several fires (see FireSchedule) in one
// transaction, in order: a fire may claim the NextFireAt an earlier one of
// the same pipeline set. The runs it returns are as created, without
// reading them back (Project is empty).
func (s *Store) FireSchedules(ctx context.Context, fires []pipeline.Fire) ([]pipeline.Fired, error) {
	out := make([]pipeline.Fired, len(fires))
	err := s.inTx(ctx, func(t *tx) error {
		now := s.nowMillis()
		for i, f := range fires {
			sc, r := f.Schedule, f.Run
			r.ProjectID, r.Pipeline, r.Commit, r.Cause, r.State = sc.ProjectID, sc.Pipeline, sc.Commit, pipeline.CauseSchedule, pipeline.Queued
			out[i] = pipeline.Fired{Run: r}
			res, err := t.exec(`UPDATE pipelines SET next_fire_at = ?, last_start = ?, last_end = ?, updated_at = ?
				WHERE project_id = ? AND kind = ? AND commit_sha = ? AND next_fire_at = ?`,
				nullMillis(f.Next), r.DataInterval.Start.UnixMilli(), r.DataInterval.End.UnixMilli(), now,
				sc.ProjectID, string(sc.Pipeline), sc.Commit, sc.NextFireAt.UnixMilli())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return err
				}
				continue
			}
			out[i].Claimed = true
			id, err := s.insertRun(t, r)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			out[i].Created = true
			out[i].Run.ID = pipeline.RunID(id)
		}
		return nil
	})
	if err != nil {
		return nil, internal("fire schedules", err)
	}
	return out, nil
}

// insertRun inserts a run; sql.ErrNoRows when a keyed run of its logical
// date exists.
func (s *Store) insertRun(t *tx, r pipeline.Run) (int64, error) {
	now := s.now()
	if r.QueuedAt.IsZero() {
		r.QueuedAt = now
	}
	if r.FireAt.IsZero() {
		r.FireAt = r.QueuedAt
	}
	if r.LogicalDate.IsZero() {
		r.LogicalDate = r.FireAt
	}
	if r.DataInterval.Start.IsZero() {
		r.DataInterval = pipeline.Interval{Start: r.LogicalDate, End: r.LogicalDate}
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 1
	}
	if r.State == "" {
		r.State = pipeline.Queued
	}
	conf := ""
	if r.Conf != nil {
		b, err := json.Marshal(r.Conf)
		if err != nil {
			return 0, posml.Errorf(posml.KindInvalid, "run conf: "+err.Error())
		}
		conf = string(b)
	}
	var id int64
	err := t.queryRow(`INSERT INTO pipeline_runs (project_id, pipeline, commit_sha, state, cause, logical_date, interval_start, interval_end,
		fire_at, queued_at, not_before, max_attempts, parent_run_id, reason, conf)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		r.ProjectID, string(r.Pipeline), r.Commit, string(r.State), string(r.Cause), r.LogicalDate.UnixMilli(),
		r.DataInterval.Start.UnixMilli(), r.DataInterval.End.UnixMilli(), r.FireAt.UnixMilli(), r.QueuedAt.UnixMilli(),
		millisOf(r.NotBefore), r.MaxAttempts, int64(r.ParentRunID), r.Reason, conf).Scan(&id)
	return id, err
}

// CreatePipelineRun creates a queued run (manual, trigger, backfill,
// webhook). Commit "" means the project's active commit; a project without
// one is a KindConflict error. LogicalDate and FireAt default to now, the
// data interval to [LogicalDate, LogicalDate], MaxAttempts to 1 + the
// retries of the commit's config (1 for an unknown commit). A keyed
// run (backfill) whose logical date already has a run is a KindExists
// error.
func (s *Store) CreatePipelineRun(ctx context.Context, r pipeline.Run) (pipeline.Run, error) {
	if !r.Pipeline.Valid() {
		return r, posml.Errorf(posml.KindInvalid, "unknown pipeline "+string(r.Pipeline)+": want train or trigger")
	}
	if !r.Cause.Valid() {
		return r, posml.Errorf(posml.KindInvalid, "unknown run cause "+string(r.Cause))
	}
	r.State = pipeline.Queued
	var id int64
	err := s.inTx(ctx, func(t *tx) error {
		if r.Commit == "" {
			if err := t.queryRow(`SELECT active_commit FROM projects WHERE id = ?`, r.ProjectID).Scan(&r.Commit); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return projectNotFound(r.ProjectID.String())
				}
				return err
			}
			if r.Commit == "" {
				return &posml.Error{Kind: posml.KindConflict, Msg: "project " + r.ProjectID.String() + " has no valid commit yet"}
			}
		}
		if r.MaxAttempts <= 0 {
			var settings string
			err := t.queryRow(`SELECT settings FROM commits WHERE project_id = ? AND sha = ?`, r.ProjectID, r.Commit).Scan(&settings)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			var st pipeline.Settings
			if settings != "" && json.Unmarshal([]byte(settings), &st) == nil {
				r.MaxAttempts = 1 + max(st.Retries, 0)
			}
		}
		var err error
		id, err = s.insertRun(t, r)
		if errors.Is(err, sql.ErrNoRows) {
			return &posml.Error{Kind: posml.KindExists, Msg: "a " + string(r.Pipeline) + " run for " + r.LogicalDate.UTC().Format(time.RFC3339) + " already exists"}
		}
		return err
	})
	if isForeignKeyViolation(err) {
		return r, projectNotFound(r.ProjectID.String())
	}
	if err != nil {
		return r, internal("create pipeline run", err)
	}
	return s.PipelineRun(ctx, pipeline.RunID(id))
}

const runCols = `r.id, r.project_id, p.name, r.pipeline, r.commit_sha, r.state, r.cause, r.logical_date, r.interval_start,
	r.interval_end, r.fire_at, r.queued_at, r.started_at, r.ended_at, r.not_before, r.attempts, r.max_attempts,
	r.parent_run_id, r.reason, r.cancel_requested, r.conf`

const runFrom = ` FROM pipeline_runs r JOIN projects p ON p.id = r.project_id`

func scanPipelineRun(sc interface{ Scan(...any) error }) (pipeline.Run, error) {
	var r pipeline.Run
	var kind, state, cause, conf string
	var logical, is, ie, fire, queued, started, ended, notBefore int64
	var cancel int
	if err := sc.Scan(&r.ID, &r.ProjectID, &r.Project, &kind, &r.Commit, &state, &cause, &logical, &is, &ie, &fire, &queued,
		&started, &ended, &notBefore, &r.Attempts, &r.MaxAttempts, &r.ParentRunID, &r.Reason, &cancel, &conf); err != nil {
		return r, err
	}
	r.Pipeline, r.State, r.Cause = pipeline.Kind(kind), pipeline.State(state), pipeline.Cause(cause)
	r.LogicalDate = time.UnixMilli(logical).UTC()
	r.DataInterval = pipeline.Interval{Start: time.UnixMilli(is).UTC(), End: time.UnixMilli(ie).UTC()}
	r.FireAt, r.QueuedAt = time.UnixMilli(fire).UTC(), time.UnixMilli(queued).UTC()
	r.StartedAt, r.EndedAt, r.NotBefore = timeOfMillis(started), timeOfMillis(ended), timeOfMillis(notBefore)
	r.CancelRequested = cancel != 0
	if conf != "" {
		if err := json.Unmarshal([]byte(conf), &r.Conf); err != nil {
			return r, err
		}
	}
	return r, nil
}

func runNotFound(id pipeline.RunID) error {
	return &posml.Error{Kind: posml.KindNotFound, Msg: "pipeline run " + id.String() + " not found"}
}

// PipelineRun returns a pipeline run.
func (s *Store) PipelineRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error) {
	r, err := scanPipelineRun(s.readRow(ctx, `SELECT `+runCols+runFrom+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, runNotFound(id)
	}
	return r, internal("get pipeline run", err)
}

// PipelineRuns lists runs newest first.
func (s *Store) PipelineRuns(ctx context.Context, f pipeline.RunFilter) ([]pipeline.Run, error) {
	var where []string
	var args []any
	if f.ProjectID != 0 {
		where, args = append(where, "r.project_id = ?"), append(args, f.ProjectID)
	}
	if f.Pipeline != "" {
		where, args = append(where, "r.pipeline = ?"), append(args, string(f.Pipeline))
	}
	if len(f.States) > 0 {
		where = append(where, "r.state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.Cause != "" {
		where, args = append(where, "r.cause = ?"), append(args, string(f.Cause))
	}
	if f.ParentRunID != 0 {
		where, args = append(where, "r.parent_run_id = ?"), append(args, f.ParentRunID)
	}
	if f.BeforeID != 0 {
		where, args = append(where, "r.id < ?"), append(args, f.BeforeID)
	}
	q := `SELECT ` + runCols + runFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += " ORDER BY r.id DESC LIMIT ?"
	args = append(args, f.Limit)
	return s.queryRuns(ctx, "list pipeline runs", q, args...)
}

func (s *Store) queryRuns(ctx context.Context, op, q string, args ...any) ([]pipeline.Run, error) {
	rows, err := s.readQuery(ctx, q, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []pipeline.Run
	for rows.Next() {
		r, err := scanPipelineRun(rows)
		if err != nil {
			return nil, internal(op, err)
		}
		out = append(out, r)
	}
	return out, internal(op, rows.Err())
}

// QueuedRuns returns up to limit queued runs that may start at now (their
// retry delay is over), in fire order.
func (s *Store) QueuedRuns(ctx context.Context, now time.Time, limit int) ([]pipeline.Run, error) {
	return s.queryRuns(ctx, "queued runs", `SELECT `+runCols+runFrom+`
		WHERE r.state = 'queued' AND r.not_before <= ? ORDER BY r.fire_at, r.id LIMIT ?`, now.UnixMilli(), limit)
}

// NextNotBefore returns the earliest retry time of the queued runs held
// back by a retry delay, or the zero time.
func (s *Store) NextNotBefore(ctx context.Context) (time.Time, error) {
	var n sql.NullInt64
	err := s.readRow(ctx, `SELECT MIN(not_before) FROM pipeline_runs WHERE state = 'queued' AND not_before > 0`).Scan(&n)
	if n.Valid && n.Int64 == 0 {
		return time.Time{}, internal("next retry", err)
	}
	return timeOfNull(n), internal("next retry", err)
}

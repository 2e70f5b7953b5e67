package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

const attemptCols = `run_id, n, state, pid, started_at, ended_at, exit_code, log_path, error, handle`

func scanAttempt(sc interface{ Scan(...any) error }) (pipeline.Attempt, error) {
	var a pipeline.Attempt
	var state string
	var started, ended int64
	if err := sc.Scan(&a.RunID, &a.N, &state, &a.PID, &started, &ended, &a.ExitCode, &a.LogPath, &a.Error, &a.Handle); err != nil {
		return a, err
	}
	a.State = pipeline.State(state)
	a.StartedAt, a.EndedAt = timeOfMillis(started), timeOfMillis(ended)
	return a, nil
}

func runConflict(id pipeline.RunID, msg string) error {
	return &posml.Error{Kind: posml.KindConflict, Msg: "pipeline run " + id.String() + " " + msg}
}

// StartAttempt moves a queued run to running and opens its next attempt
// (state running, no process yet), if the run is still queued, its retry
// delay is over, and fewer than its pipeline's max_active_runs runs of the
// same project and pipeline are running. ok is false otherwise; the caller
// tries again later. logPath names the attempt's log file from its number.
func (s *Store) StartAttempt(ctx context.Context, id pipeline.RunID, now time.Time, logPath func(n int) string) (run pipeline.Run, a pipeline.Attempt, ok bool, err error) {
	err = s.inTx(ctx, func(t *tx) error {
		// Lock the pipeline's row first, so that the count of its running
		// runs below is exact when several servers share a PostgreSQL
		// database (SQLite runs one write transaction at a time anyway).
		if _, err := t.exec(`UPDATE pipelines SET max_active_runs = max_active_runs
			WHERE (project_id, kind) IN (SELECT project_id, pipeline FROM pipeline_runs WHERE id = ?)`, id); err != nil {
			return err
		}
		res, err := t.exec(`UPDATE pipeline_runs SET state = 'running', attempts = attempts + 1, not_before = 0,
				started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END
			WHERE id = ? AND state = 'queued' AND not_before <= ? AND cancel_requested = 0
			AND (SELECT COUNT(*) FROM pipeline_runs o WHERE o.project_id = pipeline_runs.project_id AND o.pipeline = pipeline_runs.pipeline AND o.state = 'running')
				< COALESCE((SELECT max_active_runs FROM pipelines pl WHERE pl.project_id = pipeline_runs.project_id AND pl.kind = pipeline_runs.pipeline), 1)`,
			now.UnixMilli(), id, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ok = true
		var n int
		if err := t.queryRow(`SELECT attempts FROM pipeline_runs WHERE id = ?`, id).Scan(&n); err != nil {
			return err
		}
		a = pipeline.Attempt{RunID: id, N: n, State: pipeline.Running, StartedAt: now.UTC().Truncate(time.Millisecond), ExitCode: -1}
		if logPath != nil {
			a.LogPath = logPath(n)
		}
		_, err = t.exec(`INSERT INTO run_attempts (run_id, n, state, started_at, log_path) VALUES (?, ?, 'running', ?, ?)`,
			id, n, now.UnixMilli(), a.LogPath)
		return err
	})
	if err != nil || !ok {
		return run, a, ok, internal("start attempt", err)
	}
	run, err = s.PipelineRun(ctx, id)
	return run, a, ok, err
}

// SetAttemptProcess records the process of a running attempt, once it has
// started: its PID and the executor's handle.
func (s *Store) SetAttemptProcess(ctx context.Context, id pipeline.RunID, n, pid int, handle string) error {
	return internal("set attempt process", s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE run_attempts SET pid = ?, handle = ? WHERE run_id = ? AND n = ? AND state = 'running'`, pid, handle, id, n)
		return oneAffected(res, err, runConflict(id, "has no running attempt to record"))
	}))
}

// FinishAttempt ends the running attempt a.N of run a.RunID with a.State,
// a.ExitCode and a.Error (a.EndedAt: now when zero), and moves the run on:
// next is Queued for a retry (not before notBefore; MaxAttempts grows when
// the run had no attempt left) or a terminal state,
// with reason; a retry of a run whose cancel was requested meanwhile ends
// it canceled instead. A KindConflict error means the attempt was no longer
// running (another runner or a recovery ended it).
func (s *Store) FinishAttempt(ctx context.Context, a pipeline.Attempt, next pipeline.State, reason string, notBefore time.Time) (pipeline.Run, error) {
	if a.EndedAt.IsZero() {
		a.EndedAt = s.now()
	}
	if !a.State.Terminal() || (next != pipeline.Queued && !next.Terminal()) {
		return pipeline.Run{}, posml.Errorf(posml.KindInvalid, "finish attempt: bad states "+string(a.State)+" → "+string(next))
	}
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE run_attempts SET state = ?, ended_at = ?, exit_code = ?, error = ? WHERE run_id = ? AND n = ? AND state = 'running'`,
			string(a.State), a.EndedAt.UnixMilli(), a.ExitCode, a.Error, a.RunID, a.N)
		if err := oneAffected(res, err, runConflict(a.RunID, "attempt is not running")); err != nil {
			return err
		}
		if next == pipeline.Queued {
			// A cancel asked for while the attempt ended wins over its
			// retry.
			var cancel int
			var why string
			if err := t.queryRow(`SELECT cancel_requested, reason FROM pipeline_runs WHERE id = ?`, a.RunID).Scan(&cancel, &why); err != nil {
				return err
			}
			if cancel != 0 {
				next, reason = pipeline.Canceled, why
			}
		}
		if next == pipeline.Queued {
			// A run queued again always has an attempt left: the caller
			// decided it deserves one (a retry, or a server stop that cut
			// the attempt short).
			res, err = t.exec(`UPDATE pipeline_runs SET state = 'queued', not_before = ?, reason = ?,
				max_attempts = CASE WHEN max_attempts > attempts THEN max_attempts ELSE attempts + 1 END
				WHERE id = ? AND state = 'running'`,
				millisOf(notBefore), reason, a.RunID)
		} else {
			res, err = t.exec(`UPDATE pipeline_runs SET state = ?, ended_at = ?, reason = ?, cancel_requested = 0 WHERE id = ? AND state = 'running'`,
				string(next), a.EndedAt.UnixMilli(), reason, a.RunID)
		}
		return oneAffected(res, err, runConflict(a.RunID, "is not running"))
	})
	if err != nil {
		return pipeline.Run{}, internal("finish attempt", err)
	}
	return s.PipelineRun(ctx, a.RunID)
}

// Attempts lists a run's attempts in order.
func (s *Store) Attempts(ctx context.Context, id pipeline.RunID) ([]pipeline.Attempt, error) {
	return s.queryAttempts(ctx, "list attempts", `SELECT `+attemptCols+` FROM run_attempts WHERE run_id = ? ORDER BY n`, id)
}

// RunningAttempts lists every attempt in state running, for crash
// recovery.
func (s *Store) RunningAttempts(ctx context.Context) ([]pipeline.Attempt, error) {
	return s.queryAttempts(ctx, "running attempts", `SELECT `+attemptCols+` FROM run_attempts WHERE state = 'running' ORDER BY run_id, n`)
}

func (s *Store) queryAttempts(ctx context.Context, op, q string, args ...any) ([]pipeline.Attempt, error) {
	rows, err := s.readQuery(ctx, q, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []pipeline.Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, internal(op, err)
		}
		out = append(out, a)
	}
	return out, internal(op, rows.Err())
}

// RequestCancel cancels a run: a queued run ends canceled at once; a
// running one is marked, and the runner holding it stops its process and
// ends it canceled. A finished run is a KindConflict error.
func (s *Store) RequestCancel(ctx context.Context, id pipeline.RunID, reason string) (pipeline.Run, error) {
	if reason == "" {
		reason = "canceled"
	}
	err := s.inTx(ctx, func(t *tx) error {
		var state string
		if err := t.queryRow(`SELECT state FROM pipeline_runs WHERE id = ?`, id).Scan(&state); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return runNotFound(id)
			}
			return err
		}
		switch pipeline.State(state) {
		case pipeline.Queued:
			_, err := t.exec(`UPDATE pipeline_runs SET state = 'canceled', ended_at = ?, reason = ? WHERE id = ?`, s.nowMillis(), reason, id)
			return err
		case pipeline.Running:
			_, err := t.exec(`UPDATE pipeline_runs SET cancel_requested = 1, reason = ? WHERE id = ?`, reason, id)
			return err
		}
		return runConflict(id, "has already ended ("+state+")")
	})
	if err != nil {
		return pipeline.Run{}, internal("cancel run", err)
	}
	return s.PipelineRun(ctx, id)
}

// CancelRequested lists the running runs whose cancel was requested.
func (s *Store) CancelRequested(ctx context.Context) ([]pipeline.RunID, error) {
	rows, err := s.readQuery(ctx, `SELECT id FROM pipeline_runs WHERE state = 'running' AND cancel_requested = 1`)
	if err != nil {
		return nil, internal("cancel requested", err)
	}
	defer rows.Close()
	var ids []pipeline.RunID
	for rows.Next() {
		var id pipeline.RunID
		if err := rows.Scan(&id); err != nil {
			return nil, internal("cancel requested", err)
		}
		ids = append(ids, id)
	}
	return ids, internal("cancel requested", rows.Err())
}

// RequeueRun retries a finished run that did not succeed (failed,
// timed_out, canceled): it is queued again, at the front of the queue in
// its fire order, with one more attempt allowed. Its attempt history
// stays.
func (s *Store) RequeueRun(ctx context.Context, id pipeline.RunID) (pipeline.Run, error) {
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE pipeline_runs SET state = 'queued', ended_at = 0, not_before = 0, reason = '', cancel_requested = 0,
			max_attempts = attempts + 1 WHERE id = ? AND state IN ('failed', 'timed_out', 'canceled')`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var state string
		if err := t.queryRow(`SELECT state FROM pipeline_runs WHERE id = ?`, id).Scan(&state); errors.Is(err, sql.ErrNoRows) {
			return runNotFound(id)
		}
		return runConflict(id, "is "+state+"; only a failed, timed out or canceled run can be retried")
	})
	if err != nil {
		return pipeline.Run{}, internal("retry run", err)
	}
	return s.PipelineRun(ctx, id)
}

// EndRun moves a run that has no running attempt (queued, or running
// between attempts) to a terminal state with reason. It is a KindConflict
// error if the run is not in one of from.
func (s *Store) EndRun(ctx context.Context, id pipeline.RunID, from []pipeline.State, to pipeline.State, reason string) (pipeline.Run, error) {
	if !to.Terminal() || len(from) == 0 {
		return pipeline.Run{}, posml.Errorf(posml.KindInvalid, "end run: bad states")
	}
	args := []any{string(to), s.nowMillis(), reason, id}
	for _, st := range from {
		args = append(args, string(st))
	}
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE pipeline_runs SET state = ?, ended_at = ?, reason = ?, cancel_requested = 0 WHERE id = ? AND state IN (`+placeholders(len(from))+`)`, args...)
		return oneAffected(res, err, runConflict(id, "is not "+string(from[0])))
	})
	if err != nil {
		return pipeline.Run{}, internal("end run", err)
	}
	return s.PipelineRun(ctx, id)
}

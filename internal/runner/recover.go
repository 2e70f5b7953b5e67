package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/posml/posml/internal/pipeline"
)

// Recover ends the attempts that a previous server left in state running:
// their process is gone (or, if it still runs, it is stopped: its output
// pipe died with that server), so each ends failed, "server restarted", and
// its run is queued again if it has attempts left, else fails. A trigger
// run that had already started its train run is always queued again: its
// next attempt waits for that train run instead of starting another.
//
// Run calls it before it starts anything. It assumes that this server is
// the only one executing runs on the database.
func (p *Pool) Recover(ctx context.Context) error {
	atts, err := p.d.Store.RunningAttempts(ctx)
	if err != nil {
		return err
	}
	for _, a := range atts {
		p.mu.Lock()
		_, mine := p.active[a.RunID]
		p.mu.Unlock()
		if mine {
			continue
		}
		if err := p.recoverAttempt(ctx, a); err != nil {
			return fmt.Errorf("run %s attempt %d: %w", a.RunID, a.N, err)
		}
	}
	return nil
}

func (p *Pool) recoverAttempt(ctx context.Context, a pipeline.Attempt) error {
	what := "its process is gone"
	if a.Handle != "" {
		if alive, err := p.d.Backend.Alive(a.Handle); err == nil && alive {
			if err := p.d.Backend.Stop(ctx, a.Handle, p.cfg.KillGrace); err != nil {
				return fmt.Errorf("stop leftover process: %w", err)
			}
			what = "its leftover process was stopped"
		}
	} else if a.PID == 0 {
		what = "its process had not started"
	}
	run, err := p.d.Store.PipelineRun(ctx, a.RunID)
	if err != nil {
		return err
	}
	next, reason := pipeline.Failed, "server restarted"
	switch {
	case run.CancelRequested:
		next, reason = pipeline.Canceled, "canceled"
	case run.Attempts < run.MaxAttempts:
		next, reason = pipeline.Queued, fmt.Sprintf("attempt %d failed: server restarted; retrying", a.N)
	case run.Pipeline == pipeline.Trigger:
		children, err := p.d.Store.PipelineRuns(ctx, pipeline.RunFilter{ParentRunID: run.ID, Limit: 1})
		if err != nil {
			return err
		}
		if len(children) > 0 {
			next, reason = pipeline.Queued, "server restarted; waiting for train run "+children[0].ID.String()
		}
	}
	p.note(a.LogPath, fmt.Sprintf("server restarted while attempt %d ran (%s): attempt failed; run %s", a.N, what, next))
	a.State, a.ExitCode, a.Error, a.EndedAt = pipeline.Failed, -1, "server restarted", p.cfg.Now()
	ended, err := p.d.Store.FinishAttempt(ctx, a, next, reason, time.Time{})
	if err != nil {
		return err
	}
	p.log.Warn("recovered attempt", "run_id", run.ID, "attempt", a.N, "run_state", ended.State, "process", what)
	if ended.State.Terminal() {
		p.ended(run.ID)
		if p.d.Tokens != nil {
			if err := p.d.Tokens.Revoke(ctx, run.ID); err != nil {
				p.log.Error("runner: revoke tokens", "run_id", run.ID, "err", err)
			}
		}
		if p.cfg.EndedFunc != nil {
			p.cfg.EndedFunc(ended)
		}
	}
	return nil
}

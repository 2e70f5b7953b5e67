package runner

import (
	"context"
	"fmt"
	"strings"
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
// Run calls it before it starts anything. Without Config.Shared, every
// running attempt is a leftover of this server (the only one executing
// runs on the database). With it, Recover touches this replica's own
// attempts (a restart with the same Config.ReplicaID) and, through
// Deps.Leases, the attempts of any replica whose lease expired (see
// RecoverExpired).
func (p *Pool) Recover(ctx context.Context) error {
	var atts []pipeline.Attempt
	var err error
	if p.cfg.Shared && p.d.Leases != nil {
		atts, err = p.d.Leases.ReplicaAttempts(ctx, p.cfg.ReplicaID)
	} else {
		atts, err = p.d.Store.RunningAttempts(ctx)
	}
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
		if err := p.recoverAttempt(ctx, a, false); err != nil {
			return fmt.Errorf("run %s attempt %d: %w", a.RunID, a.N, err)
		}
	}
	if p.cfg.Shared && p.d.Leases != nil {
		return p.RecoverExpired(ctx)
	}
	return nil
}

// RecoverExpired takes over the attempts whose lease expired (their
// replica died, or stopped renewing: it stops them itself when it sees
// the lease lost) and recovers each like a crash: the attempt fails,
// "replica lost", and its run is queued again if it has attempts left,
// else fails. Each expired attempt is taken over by exactly one of the
// replicas calling this at once. With Config.Shared, Run calls it at
// start and every second.
func (p *Pool) RecoverExpired(ctx context.Context) error {
	for {
		now := p.cfg.Now()
		atts, err := p.d.Leases.TakeOverExpired(ctx, p.cfg.ReplicaID, now, now.Add(p.cfg.LeaseTimeout), p.cfg.LeaseTimeout, 100)
		if err != nil {
			return err
		}
		for _, a := range atts {
			if err := p.recoverAttempt(ctx, a, true); err != nil {
				// Its lease, now this replica's, expires again and
				// another take-over retries.
				return fmt.Errorf("run %s attempt %d: %w", a.RunID, a.N, err)
			}
		}
		if len(atts) > 0 {
			p.Wake() // the runs queued again start at once
		}
		if len(atts) < 100 {
			return nil
		}
	}
}

// keepLeases renews the leases of the attempts this pool runs every
// LeaseTimeout/3 (with the replica's heartbeat), stops those whose lease
// another replica took over, and, with Config.Shared, every second (at
// most) recovers the expired attempts of other replicas, until ctx ends. A
// dead replica's attempts are thus retried at most about a second after
// their lease expired.
func (p *Pool) keepLeases(ctx context.Context) {
	renewEvery := p.cfg.LeaseTimeout / 3
	var renewed time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.cfg.After(min(renewEvery, time.Second)):
		}
		now := p.cfg.Now()
		if now.Sub(renewed) >= renewEvery-renewEvery/10 {
			renewed = now
			if err := p.d.Leases.Beat(ctx, now); err != nil && ctx.Err() == nil {
				p.log.Error("runner: heartbeat", "err", err)
			}
			if err := p.renewLeases(ctx, now); err != nil && ctx.Err() == nil {
				p.log.Error("runner: renew leases", "err", err)
			}
		}
		if !p.cfg.Shared {
			continue
		}
		if err := p.RecoverExpired(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("runner: recover expired attempts", "err", err)
		}
	}
}

// renewLeases renews the leases of the attempts running here and stops
// the ones no longer leased to this replica.
func (p *Pool) renewLeases(ctx context.Context, now time.Time) error {
	mine := map[pipeline.RunID]int{}
	p.mu.Lock()
	for id, a := range p.active {
		mine[id] = a.n
	}
	p.mu.Unlock()
	if len(mine) == 0 {
		return nil
	}
	renewed, err := p.d.Leases.RenewLeases(ctx, p.cfg.ReplicaID, mine, now.Add(p.cfg.LeaseTimeout))
	if err != nil {
		return err
	}
	for id, n := range mine {
		if renewed[id] == n {
			continue
		}
		// Taken over by another replica, which records its end: stop it.
		// (Or it ended meanwhile: its end is recorded and its process
		// gone, so the cancel changes nothing.)
		p.mu.Lock()
		if a := p.active[id]; a != nil && a.n == n {
			p.log.Warn("lease lost: stopping attempt", "run_id", id, "attempt", n)
			a.cancel(errLeaseLost)
			if a.handle != nil {
				a.handle.Cancel(errLeaseLost.Error())
			}
		}
		p.mu.Unlock()
	}
	return nil
}

// recoverAttempt ends attempt a, left running by this server before a
// restart (foreign false: its process, if it survived, is stopped) or by
// a replica that lost its lease (foreign true: a local process is on that
// replica's machine, which stops it; a job on a cluster is stopped here).
func (p *Pool) recoverAttempt(ctx context.Context, a pipeline.Attempt, foreign bool) error {
	if p.adoptable(a) {
		return p.adopt(ctx, a)
	}
	what := "its process is gone"
	cause := "server restarted"
	if foreign {
		what, cause = "its replica stopped renewing its lease", "replica lost"
	}
	// A local process dies with (or is stopped by) its own server; an
	// attempt on a cluster (Kubernetes, Slurm) outlives any replica, and any
	// replica can stop it.
	if a.Handle != "" && (!foreign || !strings.HasPrefix(a.Handle, "local:")) {
		if alive, err := p.d.Backend.Alive(a.Handle); err == nil && alive {
			if err := p.d.Backend.Stop(ctx, a.Handle, p.cfg.KillGrace); err != nil {
				return fmt.Errorf("stop leftover process: %w", err)
			}
			what = "its leftover process was stopped"
			if foreign {
				what = "its replica stopped renewing its lease; its job was stopped"
			}
		}
	} else if a.PID == 0 && !foreign {
		what = "its process had not started"
	}
	run, err := p.d.Store.PipelineRun(ctx, a.RunID)
	if err != nil {
		return err
	}
	next, reason := pipeline.Failed, cause
	switch {
	case run.CancelRequested:
		next, reason = pipeline.Canceled, "canceled"
	case run.Attempts < run.MaxAttempts:
		next, reason = pipeline.Queued, fmt.Sprintf("attempt %d failed: %s; retrying", a.N, cause)
	case run.Pipeline == pipeline.Trigger:
		children, err := p.d.Store.PipelineRuns(ctx, pipeline.RunFilter{ParentRunID: run.ID, Limit: 1})
		if err != nil {
			return err
		}
		if len(children) > 0 {
			next, reason = pipeline.Queued, cause+"; waiting for train run "+children[0].ID.String()
		}
	}
	if !foreign { // the log of another replica's attempt is on its machine
		p.note(a.LogPath, fmt.Sprintf("server restarted while attempt %d ran (%s): attempt failed; run %s", a.N, what, next))
	}
	a.State, a.ExitCode, a.Error, a.EndedAt = pipeline.Failed, -1, cause, p.cfg.Now()
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

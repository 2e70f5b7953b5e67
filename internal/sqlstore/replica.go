package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

// Replicas and leases: several `posml server` processes (replicas) share a
// PostgreSQL database. Each heartbeats a row of replicas; each running
// attempt names the replica executing it and carries a lease that replica
// renews. An attempt whose lease expired is taken over, with a
// compare-and-swap on its lease, by exactly one replica, which recovers it.

// Replica is a server process sharing the database.
type Replica struct {
	ID           string
	Host         string
	PID          int
	Version      string
	StartedAt    time.Time
	LeaseTimeout time.Duration
	HeartbeatAt  time.Time // read only: the last heartbeat
}

// replicaForgotten is how long the row of a replica that stopped without
// removing it (a crash) stays.
const replicaForgotten = 24 * time.Hour

// HeartbeatReplica records that replica r is alive at now (creating its
// row at its first beat), and drops the rows of replicas silent for a day.
func (s *Store) HeartbeatReplica(ctx context.Context, r Replica, now time.Time) error {
	return internal("heartbeat replica", s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM replicas WHERE heartbeat_at < ?`, now.Add(-replicaForgotten).UnixMilli()); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO replicas (id, host, pid, version, started_at, heartbeat_at, lease_timeout) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
				started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, lease_timeout = excluded.lease_timeout`,
			r.ID, r.Host, r.PID, r.Version, millisOf(r.StartedAt), now.UnixMilli(), r.LeaseTimeout.Milliseconds())
		return err
	}))
}

// RemoveReplica deletes a replica's row (at a clean stop).
func (s *Store) RemoveReplica(ctx context.Context, id string) error {
	return internal("remove replica", s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(`DELETE FROM replicas WHERE id = ?`, id)
		return err
	}))
}

// Replicas lists the replicas that have a row (alive, or gone without a
// clean stop), by ID.
func (s *Store) Replicas(ctx context.Context) ([]Replica, error) {
	rows, err := s.readQuery(ctx, `SELECT id, host, pid, version, started_at, heartbeat_at, lease_timeout FROM replicas ORDER BY id`)
	if err != nil {
		return nil, internal("replicas", err)
	}
	defer rows.Close()
	var out []Replica
	for rows.Next() {
		var r Replica
		var started, beat, timeout int64
		if err := rows.Scan(&r.ID, &r.Host, &r.PID, &r.Version, &started, &beat, &timeout); err != nil {
			return nil, internal("replicas", err)
		}
		r.StartedAt, r.HeartbeatAt, r.LeaseTimeout = timeOfMillis(started), timeOfMillis(beat), time.Duration(timeout)*time.Millisecond
		out = append(out, r)
	}
	return out, internal("replicas", rows.Err())
}

// ReplicasAlive counts the replicas whose last heartbeat is younger than
// their lease timeout at now.
func (s *Store) ReplicasAlive(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.readRow(ctx, `SELECT COUNT(*) FROM replicas WHERE heartbeat_at + lease_timeout > ?`, now.UnixMilli()).Scan(&n)
	return n, internal("replicas alive", err)
}

// LeasesActive counts the running attempts whose lease has not expired at
// now.
func (s *Store) LeasesActive(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.readRow(ctx, `SELECT COUNT(*) FROM run_attempts WHERE state = 'running' AND lease_expires_at > ?`, now.UnixMilli()).Scan(&n)
	return n, internal("leases active", err)
}

// SchedulerLag is now minus the oldest fire time that is due and not yet
// claimed by a scheduler (0 when none is due). A pipeline whose next fire
// is still to be computed (next_fire_at 0: a new commit, a resume) is due
// since its last update.
func (s *Store) SchedulerLag(ctx context.Context, now time.Time) (time.Duration, error) {
	var n sql.NullInt64
	err := s.readRow(ctx, `SELECT MIN(CASE WHEN next_fire_at = 0 THEN updated_at ELSE next_fire_at END) FROM pipelines
		WHERE next_fire_at IS NOT NULL AND next_fire_at <= ?`, now.UnixMilli()).Scan(&n)
	if err != nil || !n.Valid {
		return 0, internal("scheduler lag", err)
	}
	return max(now.Sub(time.UnixMilli(n.Int64)), 0), nil
}

// RenewLeases extends to until the leases of the running attempts that
// replica executes: attempts maps each run to its attempt number. An
// attempt not leased yet (just started) is leased to replica; one that
// another replica took over, or that ended, is not renewed. It returns the
// attempts renewed: an attempt of attempts missing from it is no longer
// replica's to run.
func (s *Store) RenewLeases(ctx context.Context, replica string, attempts map[pipeline.RunID]int, until time.Time) (map[pipeline.RunID]int, error) {
	renewed := make(map[pipeline.RunID]int, len(attempts))
	if len(attempts) == 0 {
		return renewed, nil
	}
	ids := slices.Sorted(maps.Keys(attempts)) // rows locked in one order, as TakeOverExpired does
	err := s.inTx(ctx, func(t *tx) error {
		clear(renewed) // a retried transaction starts over
		for _, id := range ids {
			n := attempts[id]
			res, err := t.exec(`UPDATE run_attempts SET replica_id = ?, lease_expires_at = ?
				WHERE run_id = ? AND n = ? AND state = 'running' AND replica_id IN (?, '')`,
				replica, until.UnixMilli(), id, n, replica)
			if err != nil {
				return err
			}
			if k, err := res.RowsAffected(); err != nil {
				return err
			} else if k == 1 {
				renewed[id] = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal("renew leases", err)
	}
	return renewed, nil
}

// TakeOverExpired leases to replica, until until, at most limit running
// attempts whose lease expired at now (an attempt never leased counts from
// its start plus timeout), and returns them: the caller recovers them.
// Several replicas may call it at once; each expired attempt goes to
// exactly one of them, because the update re-checks the expiry under the
// row's lock.
func (s *Store) TakeOverExpired(ctx context.Context, replica string, now, until time.Time, timeout time.Duration, limit int) ([]pipeline.Attempt, error) {
	var out []pipeline.Attempt
	err := s.inTx(ctx, func(t *tx) error {
		out = out[:0]
		rows, err := t.query(`UPDATE run_attempts SET replica_id = ?, lease_expires_at = ?
			WHERE state = 'running' AND (CASE WHEN lease_expires_at = 0 THEN started_at + ? ELSE lease_expires_at END) <= ?
			AND (run_id, n) IN (SELECT run_id, n FROM run_attempts WHERE state = 'running'
				AND (CASE WHEN lease_expires_at = 0 THEN started_at + ? ELSE lease_expires_at END) <= ? ORDER BY run_id LIMIT ?)
			RETURNING `+attemptCols,
			replica, until.UnixMilli(), timeout.Milliseconds(), now.UnixMilli(), timeout.Milliseconds(), now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAttempt(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internal("take over expired attempts", err)
	}
	return out, nil
}

// ReplicaAttempts lists the running attempts leased to replica.
func (s *Store) ReplicaAttempts(ctx context.Context, replica string) ([]pipeline.Attempt, error) {
	return s.queryAttempts(ctx, "replica attempts", `SELECT `+attemptCols+` FROM run_attempts WHERE state = 'running' AND replica_id = ? ORDER BY run_id, n`, replica)
}

// SchemaVersion returns the highest migration applied to the database and
// the highest this binary embeds.
func (s *Store) SchemaVersion(ctx context.Context) (applied, known int, err error) {
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		return 0, 0, internal("schema version", err)
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	var n sql.NullInt64
	if err := s.readRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&n); err != nil {
		return 0, known, internal("schema version", err)
	}
	return int(n.Int64), known, nil
}

// CheckSchema returns nil when the database's schema is the one this
// binary knows; a KindConflict error when it is newer (a newer posml
// migrated it: upgrade this binary) or older (run `posml migrate`).
func (s *Store) CheckSchema(ctx context.Context) error {
	applied, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case applied > known:
		return posml.Errorf(posml.KindConflict, fmt.Sprintf("the database schema is at version %d, newer than this posml knows (%d): a newer posml migrated it; run that version (or newer) of posml", applied, known))
	case applied < known:
		return posml.Errorf(posml.KindConflict, fmt.Sprintf("the database schema is at version %d, older than this posml's %d: run `posml migrate`", applied, known))
	}
	return nil
}

-- Several servers (replicas) on one database. Each replica has a row it
-- heartbeats; each running attempt carries the replica executing it and a
-- lease that replica renews. An attempt whose lease expired belongs to a
-- replica that died: any replica takes it over (a compare-and-swap on the
-- lease) and recovers it. Times are milliseconds since the epoch (UTC).
CREATE TABLE replicas (
    id            TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL DEFAULT '',
    pid           INTEGER NOT NULL DEFAULT 0,
    version       TEXT    NOT NULL DEFAULT '',
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    lease_timeout INTEGER NOT NULL
);

-- replica_id '' and lease_expires_at 0: an attempt started before this
-- migration, or in the instant between its start and its first lease; its
-- lease then counts from started_at.
ALTER TABLE run_attempts ADD COLUMN replica_id TEXT NOT NULL DEFAULT '';
ALTER TABLE run_attempts ADD COLUMN lease_expires_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX run_attempts_replica ON run_attempts (replica_id) WHERE state = 'running';

-- The attempts' logs, copied from the replica's log file as they grow
-- (every second, in chunks of at most 64 KiB), so that any replica serves
-- any run's log. Chunk [pos, end_pos) of attempt n of run run_id.
CREATE TABLE run_log_chunks (
    run_id   INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    n        INTEGER NOT NULL,
    pos      INTEGER NOT NULL,
    end_pos  INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (run_id, n, pos)
);

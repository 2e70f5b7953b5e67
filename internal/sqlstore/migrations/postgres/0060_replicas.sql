-- Several servers (replicas) on one database. Each replica has a row it
-- heartbeats; each running attempt carries the replica executing it and a
-- lease that replica renews. An attempt whose lease expired belongs to a
-- replica that died: any replica takes it over (a compare-and-swap on the
-- lease) and recovers it. Times are milliseconds since the epoch (UTC).
CREATE TABLE replicas (
    id            TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL DEFAULT '',
    pid           BIGINT  NOT NULL DEFAULT 0,
    version       TEXT    NOT NULL DEFAULT '',
    started_at    BIGINT  NOT NULL,
    heartbeat_at  BIGINT  NOT NULL,
    lease_timeout BIGINT  NOT NULL
);

-- replica_id '' and lease_expires_at 0: an attempt started before this
-- migration, or in the instant between its start and its first lease; its
-- lease then counts from started_at.
ALTER TABLE run_attempts ADD COLUMN replica_id TEXT NOT NULL DEFAULT '';
ALTER TABLE run_attempts ADD COLUMN lease_expires_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX run_attempts_replica ON run_attempts (replica_id) WHERE state = 'running';

-- The attempts' logs, copied from the replica's log file as they grow
-- (every second, in chunks of at most 64 KiB), so that any replica serves
-- any run's log. Chunk [pos, end_pos) of attempt n of run run_id.
CREATE TABLE run_log_chunks (
    run_id   BIGINT NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    n        BIGINT NOT NULL,
    pos      BIGINT NOT NULL,
    end_pos  BIGINT NOT NULL,
    data     BYTEA NOT NULL,
    PRIMARY KEY (run_id, n, pos)
);

-- Data marts: sources (named connections; the DSN is a secret that no
-- API returns), marts, their immutable snapshots and the reads of
-- pipeline runs. Times are milliseconds since the epoch. Snapshot files
-- live under <data-dir>/marts/<mart>/<version>.parquet.

CREATE TABLE mart_sources (
    name       TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    dsn        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE marts (
    id               TEXT    PRIMARY KEY,
    source           TEXT    NOT NULL DEFAULT '',
    query            TEXT    NOT NULL DEFAULT '',
    file             TEXT    NOT NULL DEFAULT '',
    refresh_schedule TEXT    NOT NULL DEFAULT '',
    next_refresh     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX marts_next_refresh ON marts (next_refresh);

CREATE TABLE mart_snapshots (
    mart_id    TEXT    NOT NULL REFERENCES marts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    num_rows   INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    digest     TEXT    NOT NULL,
    columns    TEXT    NOT NULL,
    query      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (mart_id, version)
);

-- No foreign keys: the history of what a run read outlives the mart.
CREATE TABLE mart_reads (
    id INTEGER PRIMARY KEY,
    pipeline_run_id INTEGER NOT NULL,
    mart_id         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    digest          TEXT    NOT NULL,
    mlflow_run_id   TEXT    NOT NULL DEFAULT '',
    read_at         INTEGER NOT NULL,
    UNIQUE (pipeline_run_id, mart_id, version)
);

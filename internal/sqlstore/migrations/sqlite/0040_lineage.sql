-- Lineage: run tokens, project ownership of tracking resources, and
-- promotion decisions. Times are milliseconds since the epoch. No foreign
-- keys to projects or pipeline runs: the history outlives what it describes.

-- A run token is stored as the hex SHA-256 of its text; the text itself is
-- never stored.
CREATE TABLE run_tokens (
    token_hash      TEXT    PRIMARY KEY,
    project_id      INTEGER NOT NULL,
    project_name    TEXT    NOT NULL,
    pipeline_run_id INTEGER NOT NULL,
    git_commit      TEXT    NOT NULL DEFAULT '',
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX run_tokens_run ON run_tokens (pipeline_run_id);

-- The project owning each experiment or registered model that a project's
-- configuration names or its run token created; the first claim wins.
CREATE TABLE project_resources (
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    project_id INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX project_resources_project ON project_resources (project_id);

CREATE TABLE promotion_decisions (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL,
    pipeline_run_id  INTEGER NOT NULL,
    model_name       TEXT    NOT NULL,
    metric           TEXT    NOT NULL,
    direction        TEXT    NOT NULL,
    candidate_run_id TEXT    NOT NULL DEFAULT '',
    candidate_value  REAL,
    champion_version INTEGER NOT NULL DEFAULT 0,
    champion_run_id  TEXT    NOT NULL DEFAULT '',
    champion_value   REAL,
    outcome          TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    new_version      INTEGER NOT NULL DEFAULT 0,
    alias_moved      INTEGER NOT NULL DEFAULT 0,
    decided_at       INTEGER NOT NULL
);
CREATE INDEX promotion_decisions_run ON promotion_decisions (pipeline_run_id, id);
CREATE INDEX promotion_decisions_project ON promotion_decisions (project_id, id);

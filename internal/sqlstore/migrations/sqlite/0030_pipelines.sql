-- Pipeline engine: projects (git repositories), the commits seen on their
-- branch, the scheduling state of their two pipelines, pipeline runs, their
-- attempts, and what the runs produced in the tracking server (lineage).
-- Times are milliseconds since the epoch (UTC); 0 means "not yet".

-- The cred_* columns hold the repository's secrets. No query returns them
-- except ProjectCredentials; they never leave the server.
CREATE TABLE projects (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    repo_url            TEXT    NOT NULL,
    branch              TEXT    NOT NULL DEFAULT 'main',
    paused              INTEGER NOT NULL DEFAULT 0,
    active_commit       TEXT    NOT NULL DEFAULT '',
    head_commit         TEXT    NOT NULL DEFAULT '',
    notify_urls         TEXT    NOT NULL DEFAULT '[]',
    last_sync_at        INTEGER NOT NULL DEFAULT 0,
    sync_error          TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    cred_username       TEXT    NOT NULL DEFAULT '',
    cred_token          TEXT    NOT NULL DEFAULT '',
    cred_ssh_key        TEXT    NOT NULL DEFAULT '',
    cred_webhook_secret TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE commits (
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    sha          TEXT    NOT NULL,
    valid        INTEGER NOT NULL,
    validation   TEXT    NOT NULL DEFAULT '{}',
    settings     TEXT    NOT NULL DEFAULT '{}',
    author       TEXT    NOT NULL DEFAULT '',
    message      TEXT    NOT NULL DEFAULT '',
    committed_at INTEGER NOT NULL DEFAULT 0,
    seen_at      INTEGER NOT NULL,
    PRIMARY KEY (project_id, sha)
);
CREATE INDEX commits_seen ON commits (project_id, seen_at);

-- One row per project and pipeline (train, trigger): the timetable of the
-- active commit and when the scheduler must look at it next. A row is due
-- when next_fire_at <= now; NULL when nothing is pending.
CREATE TABLE pipelines (
    project_id      INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    commit_sha      TEXT    NOT NULL,
    expr            TEXT    NOT NULL DEFAULT '',
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    start_at        INTEGER NOT NULL DEFAULT 0,
    mode            TEXT    NOT NULL DEFAULT 'trigger',
    catchup         INTEGER NOT NULL DEFAULT 0,
    max_active_runs INTEGER NOT NULL DEFAULT 1,
    next_fire_at    INTEGER,
    last_start      INTEGER,
    last_end        INTEGER,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (project_id, kind)
);
CREATE INDEX pipelines_due ON pipelines (next_fire_at) WHERE next_fire_at IS NOT NULL;

CREATE TABLE pipeline_runs (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    pipeline         TEXT    NOT NULL,
    commit_sha       TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    cause            TEXT    NOT NULL,
    logical_date     INTEGER NOT NULL,
    interval_start   INTEGER NOT NULL,
    interval_end     INTEGER NOT NULL,
    fire_at          INTEGER NOT NULL,
    queued_at        INTEGER NOT NULL,
    started_at       INTEGER NOT NULL DEFAULT 0,
    ended_at         INTEGER NOT NULL DEFAULT 0,
    not_before       INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 1,
    parent_run_id    INTEGER NOT NULL DEFAULT 0,
    reason           TEXT    NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    conf             TEXT    NOT NULL DEFAULT ''
);
-- A scheduled or backfilled logical date runs once.
CREATE UNIQUE INDEX pipeline_runs_key ON pipeline_runs (project_id, pipeline, logical_date) WHERE cause IN ('schedule', 'backfill');
CREATE INDEX pipeline_runs_queue ON pipeline_runs (state, fire_at, id);
CREATE INDEX pipeline_runs_project ON pipeline_runs (project_id, id);
CREATE INDEX pipeline_runs_parent ON pipeline_runs (parent_run_id) WHERE parent_run_id <> 0;

CREATE TABLE run_attempts (
    run_id     INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    n          INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    pid        INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER NOT NULL DEFAULT 0,
    exit_code  INTEGER NOT NULL DEFAULT -1,
    log_path   TEXT    NOT NULL DEFAULT '',
    error      TEXT    NOT NULL DEFAULT '',
    handle     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, n)
);
CREATE INDEX run_attempts_running ON run_attempts (state) WHERE state = 'running';

-- What a pipeline run produced in the tracking server.
CREATE TABLE run_outputs (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    mlflow_run_id  TEXT    NOT NULL DEFAULT '',
    model_name     TEXT    NOT NULL DEFAULT '',
    model_version  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX run_outputs_key ON run_outputs (run_id, mlflow_run_id, model_name, model_version);
CREATE INDEX run_outputs_mlflow ON run_outputs (mlflow_run_id);

-- Model registry: registered models, their numbered versions, tags, aliases,
-- and the event history of every registry change. Times are milliseconds
-- since the epoch. Models have a surrogate id so that a rename touches one
-- row and the event history follows the model across renames.

CREATE TABLE registered_models (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX registered_models_updated ON registered_models (last_updated_time);

CREATE TABLE registered_model_tags (
    model_id INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- A deleted version stays, in stage Deleted_Internal with its fields
-- redacted, so that its number is never handed out again.
CREATE TABLE model_versions (
    model_id          INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    user_id           TEXT    NOT NULL DEFAULT '',
    current_stage     TEXT    NOT NULL DEFAULT 'None',
    source            TEXT    NOT NULL DEFAULT '',
    storage_location  TEXT    NOT NULL DEFAULT '',
    run_id            TEXT    NOT NULL DEFAULT '',
    run_link          TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL DEFAULT 'READY',
    status_message    TEXT    NOT NULL DEFAULT '',
    logged_model_id   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_updated ON model_versions (last_updated_time);
CREATE INDEX model_versions_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    model_id INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);

CREATE TABLE registered_model_aliases (
    model_id INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    alias    TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (model_id, alias)
);

-- No foreign key: the history outlives the model it describes.
CREATE TABLE registry_events (
    id              INTEGER PRIMARY KEY,
    model_id        INTEGER NOT NULL,
    model_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL DEFAULT 0,
    action          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL DEFAULT '',
    pipeline_run_id TEXT    NOT NULL DEFAULT '',
    event_time      INTEGER NOT NULL,
    details         TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX registry_events_model ON registry_events (model_id, id);
CREATE INDEX registry_events_name ON registry_events (model_name, id);

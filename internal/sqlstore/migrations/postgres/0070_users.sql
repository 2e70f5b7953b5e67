-- People who log in to the UI and the APIs when the server requires
-- authentication (posml user add). Only hashes are stored: the password's
-- (bcrypt), and the SHA-256 of each user token and session cookie. Times
-- are milliseconds since the epoch (UTC); expires_at 0 means never.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    admin         BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- API tokens of users (posml token create): for MLflow clients
-- (MLFLOW_TRACKING_TOKEN) and the native API.
CREATE TABLE user_tokens (
    id           BIGSERIAL PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL DEFAULT '',
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX user_tokens_user ON user_tokens (user_id);

-- Sessions of the UI, one per login.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

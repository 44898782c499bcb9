-- Times are stored as UTC timestamps, whole seconds.
CREATE TABLE learning_areas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('administrator', 'manager')),
    active         BOOLEAN NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE access_tokens (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    learning_area_id  BIGINT NOT NULL REFERENCES learning_areas (id),
    name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    client_id         TEXT NOT NULL UNIQUE,
    secret_hash       TEXT NOT NULL,
    created_by        BIGINT NOT NULL REFERENCES accounts (id),
    created_at        TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    revoked_at        TIMESTAMP,
    revoked_by        BIGINT REFERENCES accounts (id),
    last_used_at      TIMESTAMP
);
CREATE INDEX access_tokens_area ON access_tokens (learning_area_id, id);
CREATE INDEX access_tokens_created_by ON access_tokens (created_by);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at  TIMESTAMP NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    target_kind  TEXT,
    target_id    BIGINT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    details      TEXT NOT NULL
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_kind, actor_id, id);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
